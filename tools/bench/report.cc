#include "tools/bench/report.hh"

#include <algorithm>
#include <cstdio>
#include <fstream>

namespace colo::bench {

double median(std::vector<double> values)
{
    if (values.empty()) return 0;
    std::sort(values.begin(), values.end());
    const std::size_t n = values.size();
    return n % 2 ? values[n / 2] : (values[n / 2 - 1] + values[n / 2]) / 2;
}

std::string si(double value)
{
    char buf[32];
    if (value >= 1e6) std::snprintf(buf, sizeof buf, "%.2fM", value / 1e6);
    else if (value >= 1e3) std::snprintf(buf, sizeof buf, "%.1fk", value / 1e3);
    else std::snprintf(buf, sizeof buf, "%.0f", value);
    return buf;
}

std::string fixed(double value, int decimals)
{
    char buf[32];
    std::snprintf(buf, sizeof buf, "%.*f", decimals, value);
    return buf;
}

void Table::print(std::ostream& os) const
{
    std::vector<std::size_t> width;
    for (const auto& row : rows_)
        for (std::size_t i = 0; i < row.size(); ++i) {
            if (width.size() <= i) width.push_back(0);
            width[i] = std::max(width[i], row[i].size());
        }
    for (const auto& row : rows_) {
        std::string line;
        for (std::size_t i = 0; i < row.size(); ++i) {
            const std::string pad(width[i] - row[i].size(), ' ');
            line += i == 0 ? row[i] + pad : "  " + pad + row[i];
        }
        while (!line.empty() && line.back() == ' ') line.pop_back();
        os << "  " << line << '\n';
    }
}

std::string Targets::check(const std::string& what, bool met)
{
    const std::string verdict = met ? "met" : "NOT met";
    lines_.push_back(what + ": " + verdict);
    return verdict;
}

void Targets::print(std::ostream& os) const
{
    for (const auto& l : lines_) os << "  " << l << '\n';
}

std::string load_average()
{
    std::ifstream f("/proc/loadavg");
    std::string a, b, c;
    f >> a >> b >> c;
    return "load average: " + a + " " + b + " " + c;
}

} // namespace colo::bench
