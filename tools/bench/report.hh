// Small helpers for colo-bench's printed tables.
#pragma once

#include <ostream>
#include <string>
#include <vector>

namespace colo::bench {

double median(std::vector<double> values);

// 1234567 -> "1.23M", 45678 -> "45.7k".
std::string si(double value);
// Fixed-point with `decimals` digits.
std::string fixed(double value, int decimals);

// Left-aligned first column, right-aligned others.
class Table {
public:
    explicit Table(std::vector<std::string> header) { rows_.push_back(std::move(header)); }
    void add(std::vector<std::string> row) { rows_.push_back(std::move(row)); }
    void print(std::ostream& os) const;

private:
    std::vector<std::vector<std::string>> rows_;
};

// "met" / "NOT met", and collects every verdict for the closing summary.
class Targets {
public:
    std::string check(const std::string& what, bool met);
    void print(std::ostream& os) const;

private:
    std::vector<std::string> lines_;
};

// "load average: 1.02 0.88 0.75" from /proc/loadavg.
std::string load_average();

} // namespace colo::bench
