// colo-graph: the command-line driver. Each subcommand parses its own options
// (Boost.Program_options) and returns a sysexits code.
#include "engine/describe.hh"
#include "engine/dot.hh"
#include "engine/graph_file.hh"
#include "engine/registry.hh"
#include "engine/runtime.hh"
#include "tools/cli/commands.hh"
#include "tools/cli/operator_endpoints.hh"
#include "tools/cli/progress.hh"
#include "tools/cli/sandbox.hh"
#include "tools/cli/service_notify.hh"

#include <boost/program_options.hpp>

#include <grp.h>
#include <pwd.h>
#include <sys/resource.h>
#include <sys/wait.h>
#include <sysexits.h>
#include <unistd.h>

#include <atomic>
#include <cerrno>
#include <csignal>
#include <cstdio>
#include <cstring>
#include <ctime>
#include <filesystem>
#include <fstream>
#include <iostream>
#include <map>
#include <thread>

namespace po = boost::program_options;
using namespace colo;

namespace {

constexpr const char* kVersion = "colo-graph 0.1.0";

constexpr const char* kUsage = "Usage: colo-graph COMMAND [ARGS]\n"
                               "\n"
                               "A COLO proxy (QEMU colo-compare, filter-mirror, filter-redirector and\n"
                               "filter-rewriter) as a dataflow graph.\n"
                               "\n"
                               "Commands:\n"
                               "  run FILE        run a graph until its inputs end or SIGINT/SIGTERM\n"
                               "  validate FILE   check a graph file and report every problem\n"
                               "  dot FILE        draw a graph (dot, svg or png)\n"
                               "  nodes           list node types\n"
                               "  inspect TYPE    describe one node type in full\n"
                               "  compare PRIMARY.pcap SECONDARY.pcap\n"
                               "                  replay two captures through a comparator; report divergences\n"
                               "  ctl PATH COMMAND\n"
                               "                  ask or steer a graph run with --control PATH\n"
                               "\n"
                               "Options:\n"
                               "  -h, --help      this help; COMMAND --help for a command's options\n"
                               "  --version       print the version\n";

int usage_error(const std::string& msg)
{
    std::cerr << "colo-graph: " << msg << "\nTry 'colo-graph --help' for more information.\n";
    return EX_USAGE;
}

bool parse_sets(const std::vector<std::string>& sets, VariableOverrides& out)
{
    for (const auto& s : sets) {
        auto eq = s.find('=');
        if (eq == std::string::npos || eq == 0) {
            std::cerr << "colo-graph: --set expects NAME=VALUE, got '" << s << "'\n";
            return false;
        }
        out[s.substr(0, eq)] = s.substr(eq + 1);
    }
    return true;
}

// Loads and validates; prints diagnostics. Returns 0 or a sysexits code.
int load(const std::string& file, const std::vector<std::string>& sets, GraphDecl& g)
{
    VariableOverrides vars;
    if (!parse_sets(sets, vars)) return EX_USAGE;
    if (!std::filesystem::exists(file)) {
        std::cerr << file << ": error: no such file\n";
        return EX_NOINPUT;
    }
    Diagnostics diags;
    g = load_graph(file, vars, diags);
    diags.print(std::cerr);
    if (!diags.ok()) {
        std::cerr << diags.error_count() << " error" << (diags.error_count() == 1 ? "" : "s") << " in " << file << '\n';
        return EX_CONFIG;
    }
    return 0;
}

struct Parsed {
    po::variables_map vm;
    bool help = false;
};

// Parses a subcommand's options; positional names in order.
bool parse(const std::vector<std::string>& args, po::options_description& opts,
           const std::vector<std::string>& positional, Parsed& out, const char* usage)
{
    opts.add_options()("help,h", "show this help");
    po::positional_options_description pos;
    for (const auto& p : positional) pos.add(p.c_str(), 1);
    try {
        po::store(po::command_line_parser(args).options(opts).positional(pos).run(), out.vm);
        po::notify(out.vm);
    } catch (const po::error& e) {
        usage_error(e.what());
        return false;
    }
    if (out.vm.count("help")) {
        std::cout << usage << "\n" << opts;
        out.help = true;
    }
    return true;
}

// The graph file's `run:` options are the run command's --control, --metrics
// and --sandbox.
bool run_options_known(const GraphDecl& g)
{
    bool ok = true;
    for (const auto& [key, option] : g.run_options) {
        std::string error;
        if (key != "control" && key != "metrics" && key != "sandbox")
            error = "unknown run option '" + key + "' (expected control, metrics, sandbox)";
        else if (key == "sandbox" && option.value != "on" && option.value != "off")
            error = "run option sandbox must be on or off, not '" + option.value + "'";
        if (error.empty()) continue;
        std::cerr << option.loc.file << ":" << option.loc.line << ":" << option.loc.col << ": error: " << error << '\n';
        ok = false;
    }
    return ok;
}

int cmd_validate(const std::vector<std::string>& args)
{
    po::options_description opts("validate options");
    std::vector<std::string> sets;
    opts.add_options()("file", po::value<std::string>(), "graph file")("set", po::value(&sets)->composing(),
                                                                       "NAME=VALUE: override a variable (repeatable)");
    Parsed p;
    if (!parse(args, opts, {"file"}, p, "Usage: colo-graph validate FILE [--set NAME=VALUE]...")) return EX_USAGE;
    if (p.help) return 0;
    if (!p.vm.count("file")) return usage_error("validate: missing FILE");
    GraphDecl g;
    int rc = load(p.vm["file"].as<std::string>(), sets, g);
    if (rc == 0 && !run_options_known(g)) rc = EX_CONFIG;
    if (rc == 0) std::cout << g.file << ": ok (" << g.nodes.size() << " nodes, " << g.links.size() << " links)\n";
    return rc;
}

int cmd_dot(const std::vector<std::string>& args)
{
    po::options_description opts("dot options");
    std::vector<std::string> sets;
    std::string out, format;
    opts.add_options()("file", po::value<std::string>(), "graph file")(
        "output,o", po::value(&out), "output file (default stdout)")("format", po::value(&format)->default_value("dot"),
                                                                     "dot, svg or png (svg/png need Graphviz's dot)")(
        "set", po::value(&sets)->composing(), "NAME=VALUE: override a variable (repeatable)");
    Parsed p;
    if (!parse(args, opts, {"file"}, p, "Usage: colo-graph dot FILE [-o OUT] [--format dot|svg|png]")) return EX_USAGE;
    if (p.help) return 0;
    if (!p.vm.count("file")) return usage_error("dot: missing FILE");
    if (format != "dot" && format != "svg" && format != "png")
        return usage_error("dot: --format must be dot, svg or png");
    GraphDecl g;
    if (int rc = load(p.vm["file"].as<std::string>(), sets, g)) return rc;
    const std::string text = graph_to_dot(g);
    if (format == "dot") {
        if (out.empty()) {
            std::cout << text;
            return 0;
        }
        std::ofstream f(out);
        f << text;
        if (!f) {
            std::cerr << out << ": error: cannot write\n";
            return EX_CANTCREAT;
        }
        return 0;
    }
    if (std::system("command -v dot >/dev/null 2>&1") != 0) {
        std::cerr << "colo-graph: --format " << format
                  << " needs Graphviz's 'dot' program, which is not installed (Debian: apt-get install graphviz); "
                     "--format dot works without it\n";
        return EX_UNAVAILABLE;
    }
    if (out.empty()) return usage_error("dot: --format " + format + " needs -o OUT");
    const auto tmp = std::filesystem::temp_directory_path() / ("colo-graph-" + std::to_string(::getpid()) + ".dot");
    {
        std::ofstream f(tmp);
        f << text;
    }
    const pid_t pid = fork();
    if (pid == 0) {
        execlp("dot", "dot", ("-T" + format).c_str(), "-o", out.c_str(), tmp.c_str(), (char*)nullptr);
        _exit(127);
    }
    int status = 0;
    waitpid(pid, &status, 0);
    std::filesystem::remove(tmp);
    if (!WIFEXITED(status) || WEXITSTATUS(status) != 0) {
        std::cerr << out << ": error: Graphviz dot failed\n";
        return EX_SOFTWARE;
    }
    return 0;
}

int cmd_nodes(const std::vector<std::string>& args)
{
    po::options_description opts("nodes options");
    opts.add_options()("markdown", "print docs/nodes.md");
    Parsed p;
    if (!parse(args, opts, {}, p, "Usage: colo-graph nodes [--markdown]")) return EX_USAGE;
    if (p.help) return 0;
    std::cout << (p.vm.count("markdown") ? node_types_markdown() : list_node_types());
    return 0;
}

int cmd_inspect(const std::vector<std::string>& args)
{
    po::options_description opts("inspect options");
    opts.add_options()("type", po::value<std::string>(), "node type");
    Parsed p;
    if (!parse(args, opts, {"type"}, p, "Usage: colo-graph inspect TYPE")) return EX_USAGE;
    if (p.help) return 0;
    if (!p.vm.count("type")) return usage_error("inspect: missing TYPE (see 'colo-graph nodes')");
    const std::string type = p.vm["type"].as<std::string>();
    const NodeSpec* s = Registry::instance().find(type);
    if (!s) {
        std::string hint = Registry::instance().nearest(type);
        std::cerr << "colo-graph: no node type '" << type << "'"
                  << (hint.empty() ? "" : " (did you mean '" + hint + "'?)") << '\n';
        return EX_DATAERR;
    }
    std::cout << inspect_node_type(*s);
    return 0;
}

// Devices and files are open by now; the rest needs no privilege.
std::string drop_privileges(const std::string& user)
{
    const passwd* pw = getpwnam(user.c_str());
    if (!pw) return "no user '" + user + "'";
    if (setgroups(0, nullptr) != 0 || setgid(pw->pw_gid) != 0 || setuid(pw->pw_uid) != 0)
        return std::string("cannot switch to '") + user + "': " + std::strerror(errno);
    if (setuid(0) == 0) return "privileges could be regained after dropping them";
    return "";
}

void write_dot_snapshot(const std::string& dir, const Runtime& rt, const char* phase)
{
    if (dir.empty()) return;
    char stamp[32];
    const std::time_t t = std::time(nullptr);
    std::tm local{};
    localtime_r(&t, &local); // the signal watcher and the main thread both write snapshots
    std::strftime(stamp, sizeof stamp, "%Y%m%dT%H%M%S", &local);
    const auto path = std::filesystem::path(dir) / (std::string(stamp) + "-colo-graph." + phase + ".dot");
    const auto stats = rt.stats();
    std::ofstream(path) << graph_to_dot(rt.graph(), &stats);
}

int cmd_run(const std::vector<std::string>& args)
{
    po::options_description opts("run options");
    std::vector<std::string> sets;
    std::string dot_dir;
    unsigned threads = 0;
    std::size_t batch = 256;
    std::string mode = "auto";
    std::string control, metrics, sandbox = "on";
    opts.add_options()("file", po::value<std::string>(), "graph file")("set", po::value(&sets)->composing(),
                                                                       "NAME=VALUE: override a variable (repeatable)")(
        "stats", "print a per-node table at exit (like VPP's show runtime)")(
        "dot-dir", po::value(&dot_dir), "write the live graph as DOT at start, on SIGUSR1 and at exit")(
        "threads", po::value(&threads),
        "threads running nodes, the sources' own included (default: 1 when every source is live, as the I/O thread "
        "runs the graph; else one per core)")("batch", po::value(&batch),
                                              "packets per batch read from offline sources (default 256)")(
        "mode", po::value(&mode),
        "replay (one thread, packet-time clock; offline sources only), live (oneTBB "
        "workers, wall clock, even when every source is a file) or auto (default: replay "
        "when every source is offline, else live)")(
        "user", po::value<std::string>(), "after opening devices and files, drop root privileges to this user")(
        "control", po::value(&control),
        "serve the control socket (colo-graph ctl) at this path, mode 0600 (graph file: run: {control: PATH})")(
        "metrics", po::value(&metrics),
        "serve Prometheus metrics at http://HOST:PORT/metrics; PORT alone means loopback (graph file: run: "
        "{metrics: HOST:PORT})")(
        "sandbox", po::value(&sandbox),
        "on (default) or off: once the graph has started, drop every capability and refuse system calls a running "
        "graph does not make (seccomp), as QEMU's -sandbox on (graph file: run: {sandbox: off})");
    Parsed p;
    if (!parse(args, opts, {"file"}, p, "Usage: colo-graph run FILE [--set NAME=VALUE]... [--stats] [--dot-dir DIR]"))
        return EX_USAGE;
    if (p.help) return 0;
    if (!p.vm.count("file")) return usage_error("run: missing FILE");
    const std::map<std::string, RunMode> modes{
        {"auto", RunMode::automatic}, {"replay", RunMode::replay}, {"live", RunMode::live}};
    const auto run_mode = modes.find(mode);
    if (run_mode == modes.end()) return usage_error("run: --mode must be replay, live or auto, not '" + mode + "'");
    GraphDecl g;
    if (int rc = load(p.vm["file"].as<std::string>(), sets, g)) return rc;
    // The graph file's `run:` options; the command line wins.
    if (!run_options_known(g)) return EX_CONFIG;
    for (const auto& [key, option] : g.run_options)
        if (!p.vm.count(key)) *(key == "control" ? &control : key == "metrics" ? &metrics : &sandbox) = option.value;
    if (sandbox != "on" && sandbox != "off")
        return usage_error("run: --sandbox must be on or off, not '" + sandbox + "'");
    const bool sandboxed = sandbox == "on";
    if (!dot_dir.empty() && !std::filesystem::is_directory(dot_dir)) {
        std::cerr << dot_dir << ": error: --dot-dir is not a directory\n";
        return EX_CANTCREAT;
    }

    // Signals go to one watcher thread: every other thread inherits the mask.
    sigset_t set;
    sigemptyset(&set);
    sigaddset(&set, SIGINT);
    sigaddset(&set, SIGTERM);
    sigaddset(&set, SIGUSR1);
    sigaddset(&set, SIGUSR2); // from main: the run is over
    pthread_sigmask(SIG_BLOCK, &set, nullptr);

    RunOptions ro;
    ro.threads = threads;
    ro.batch_size = batch;
    ro.mode = run_mode->second;
    ro.log = log_line;                            // above the progress bar, if there is one
    std::unique_ptr<ServiceNotify> service;       // made once the mode is known, before run()
    std::unique_ptr<OperatorEndpoints> endpoints; // made below, before the watcher: it may stop the run meanwhile
    ro.on_running = [&] {
        // Every node has started: devices, files and listening sockets are
        // open. An answer on the control socket from now on means a running
        // graph; its threads start before the filter, which allows threads.
        if (endpoints) endpoints->serve();
        if (sandboxed) {
            try {
                sandbox::install_syscall_filter();
            } catch (const std::exception& e) {
                throw std::runtime_error(std::string("sandbox: ") + e.what() + " (--sandbox off runs without it)");
            }
        }
        service->ready("running " + g.file);
    };
    ro.on_clock = [&] { service->clock_turned(); };
    std::unique_ptr<Runtime> rt;
    try {
        rt = std::make_unique<Runtime>(g, ro);
    } catch (const std::exception& e) {
        std::cerr << g.file << ": error: " << e.what() << '\n';
        return EX_CONFIG;
    }
    if (p.vm.count("user")) {
        std::string err = drop_privileges(p.vm["user"].as<std::string>());
        if (!err.empty()) {
            std::cerr << "colo-graph: --user: " << err << '\n';
            return EX_NOPERM;
        }
    }
    // Devices and files are open, and no oneTBB worker runs yet; threads made
    // from now on (the endpoints', the watcher) inherit an empty set. Before
    // the control socket exists, so that nothing answers on it meanwhile. The
    // syscall filter follows once the nodes have started (on_running).
    if (sandboxed) {
        try {
            sandbox::drop_capabilities();
        } catch (const std::exception& e) {
            std::cerr << "colo-graph: sandbox: " << e.what() << " (--sandbox off runs without it)\n";
            return EX_OSERR;
        }
    }
    service = std::make_unique<ServiceNotify>(rt->mode() == RunMode::live);
    if (!control.empty() || !metrics.empty()) {
        try {
            endpoints = std::make_unique<OperatorEndpoints>(*rt, control, metrics, log_line);
        } catch (const std::exception& e) {
            std::cerr << "colo-graph: " << e.what() << '\n';
            return EX_CANTCREAT;
        }
        if (!endpoints->metrics_bound().empty())
            log_line("colo-graph: metrics at http://" + endpoints->metrics_bound() + "/metrics");
    }
    std::atomic<bool> finished{false};
    std::thread watcher([&] {
        while (!finished.load()) {
            const int sig = sigwaitinfo(&set, nullptr);
            if (sig == SIGUSR1) write_dot_snapshot(dot_dir, *rt, "usr1");
            else if (sig == SIGINT || sig == SIGTERM) {
                log_line(std::string("colo-graph: ") + (sig == SIGINT ? "SIGINT" : "SIGTERM") +
                         ": stopping, draining packets in flight");
                service->stopping();
                rt->stop();
            }
        }
    });
    int rc = 0;
    try {
        write_dot_snapshot(dot_dir, *rt, "start");
        const auto progress = progress_on_terminal(*rt); // replays on a terminal; cleared before what follows
        rt->run();
    } catch (const std::exception& e) {
        std::cerr << g.file << ": error: " << e.what() << '\n';
        rc = EX_SOFTWARE;
    }
    service->stopping();
    finished.store(true);
    pthread_kill(watcher.native_handle(), SIGUSR2);
    watcher.join();
    endpoints.reset();
    write_dot_snapshot(dot_dir, *rt, "exit");
    if (p.vm.count("stats")) {
        rusage ru{};
        getrusage(RUSAGE_SELF, &ru);
        std::cout << format_stats(rt->stats()) << "peak RSS: " << ru.ru_maxrss << " KiB\n";
    }
    return rc;
}

} // namespace

int main(int argc, char** argv)
{
    std::vector<std::string> args(argv + 1, argv + argc);
    if (args.empty()) {
        std::cerr << kUsage;
        return EX_USAGE;
    }
    const std::string cmd = args[0];
    const std::vector<std::string> rest(args.begin() + 1, args.end());
    if (cmd == "-h" || cmd == "--help" || cmd == "help") {
        std::cout << kUsage;
        return 0;
    }
    if (cmd == "--version") {
        std::cout << kVersion << '\n';
        return 0;
    }
    try {
        if (cmd == "run") return cmd_run(rest);
        if (cmd == "validate") return cmd_validate(rest);
        if (cmd == "dot") return cmd_dot(rest);
        if (cmd == "nodes") return cmd_nodes(rest);
        if (cmd == "inspect") return cmd_inspect(rest);
        if (cmd == "compare") return cmd_compare(rest);
        if (cmd == "ctl") return cmd_ctl(rest);
    } catch (const std::exception& e) {
        std::cerr << "colo-graph: internal error: " << e.what() << '\n';
        return EX_SOFTWARE;
    }
    return usage_error("unknown command '" + cmd + "'");
}
