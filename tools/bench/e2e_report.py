"""The e2e benchmark's table (tools/bench/e2e.sh): reads "result CONFIG NAME
VALUE" lines, prints per configuration the median (min-max) of each figure
over the rounds and, for throughput and latency, the ratio of the medians to
the direct link with its offloads on (direct-on), measured in the same run."""
import statistics
import sys
from collections import defaultdict

BASELINE = "direct-on"
# name, heading, format, ratio to the baseline?
FIGURES = [
    ("single_MBps", "1 download MB/s", "{:.0f}", True),
    ("single_busy_pct", "busy % (1 download)", "{:.0f}", False),
    ("parallel_MBps", "20 parallel MB/s", "{:.0f}", True),
    ("p50_us", "p50 us", "{:.0f}", True),
    ("p99_us", "p99 us", "{:.0f}", True),
    ("primary_cpu_us_per_request", "primary CPU us/request", "{:.1f}", False),
    ("secondary_cpu_us_per_request", "secondary CPU us/request", "{:.1f}", False),
    ("primary_switches_per_request", "primary switches/request", "{:.2f}", False),
    ("secondary_switches_per_request", "secondary switches/request", "{:.2f}", False),
    ("primary_instructions_per_request", "primary instructions/request", "{:.0f}", False),  # E2E_CALLGRIND
    ("secondary_instructions_per_request", "secondary instructions/request", "{:.0f}", False),
    ("primary_cpu_s_per_GB", "primary CPU s/GB", "{:.2f}", False),
    ("secondary_cpu_s_per_GB", "secondary CPU s/GB", "{:.2f}", False),
    ("primary_switches_per_MB", "primary switches/MB", "{:.1f}", False),
    ("secondary_switches_per_MB", "secondary switches/MB", "{:.1f}", False),
    ("pvm_sent_MB", "PVM MB sent", "{:.0f}", False),
    ("svm_sent_MB", "SVM MB sent", "{:.0f}", False),
    ("pvm_requests_sent_kB", "PVM kB sent, requests", "{:.0f}", False),
    ("svm_requests_sent_kB", "SVM kB sent, requests", "{:.0f}", False),
]
# The pair configurations' ceilings (e2e_round.sh), whose ratios to each are
# printed too: pair-kernel, the topology with the kernel forwarding and no
# proxy; pair-min, the least a proxy in user space does on TAPs and a socket.
CEILINGS = ["pair-kernel", "pair-min"]
# Summed over the rounds: every one must be 0 (intact: yes everywhere).
CHECKS = ["checkpoint_requests", "checkpoints_answered", "mismatches", "timeouts", "primary_lost_queue_full",
          "secondary_dropped_queue_full", "client_ofo_segments", "client_csum_errors", "server_retransmits", "svm_retransmits",
          "unclean_stops"]


def main():
    values = defaultdict(lambda: defaultdict(list))
    order = []
    for line in open(sys.argv[1]):
        _, config, name, value = line.split()
        if config not in order:
            order.append(config)
        values[config][name].append(value)

    def median(config, name):
        v = [float(x) for x in values[config].get(name, []) if x not in ("", "NO", "yes")]
        return statistics.median(v) if v else None

    # A figure no configuration measured (instructions without E2E_CALLGRIND) gets no column.
    shown = [f for f in FIGURES if any(median(config, f[0]) is not None for config in order)]
    rows = [["configuration", "rounds"] + [f[1] for f in shown]]
    for config in order:
        rounds = len(values[config].get("intact", []))
        row = [config, str(rounds)]
        for name, _, fmt, ratio in shown:
            m = median(config, name)
            if m is None:
                row.append("-")
                continue
            v = [float(x) for x in values[config][name]]
            cell = fmt.format(m)
            if len(v) > 1:
                cell += " (" + fmt.format(min(v)) + "-" + fmt.format(max(v)) + ")"
            base = median(BASELINE, name)
            if ratio and base and config != BASELINE:
                cell += f" {m / base:.2f}x"
            row.append(cell)
        rows.append(row)
    widths = [max(len(r[i]) for r in rows) for i in range(len(rows[0]))]
    for r in rows:
        print("  ".join(c.ljust(w) for c, w in zip(r, widths)).rstrip())
    print(f"\nratios: median over median of {BASELINE} in the same run")
    for ceiling in [c for c in CEILINGS if c in order]:
        print(f"to the ceiling {ceiling} (same run):")
        for config in order:
            if config.startswith("pair-") and config not in CEILINGS[: CEILINGS.index(ceiling) + 1]:
                cells = []
                for name, heading, _, ratio in FIGURES:
                    m, c = median(config, name), median(ceiling, name)
                    if ratio and m and c:
                        cells.append(f"{heading} {m / c:.2f}x")
                print(f"  {config}: " + ", ".join(cells))
    if any("svm_sent_MB" in values[config] for config in order):
        print("MB, kB sent: over the downloads, the requests, by each guest's stack to its device"
              " (the SVM's must match the PVM's)")
    print("integrity and order, summed over the rounds (all should be 0; every sha256 intact):")
    for config in order:
        sums = []
        for name in CHECKS:
            if name in values[config]:
                sums.append(f"{name} {sum(int(x or 0) for x in values[config][name])}")
        intact = values[config].get("intact", [])
        sums.append("intact " + ("yes" if intact and all(x == "yes" for x in intact) else "NO"))
        sums.append("connections per latency run " + "/".join(values[config].get("connections", [])))
        print(f"  {config}: " + ", ".join(sums))


if __name__ == "__main__":
    main()
