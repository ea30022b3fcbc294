// Throw-away credentials for the TLS tests (tests/io/make_tls_creds.sh, run
// once per process): good/, other-ca/, expired/, wrong-name/.
#pragma once

#include <catch2/catch.hpp>

#include <cstdlib>
#include <filesystem>
#include <string>

#include <unistd.h>

namespace colo::test {

class TlsTestCreds {
public:
    static const TlsTestCreds& get()
    {
        static const TlsTestCreds creds;
        return creds;
    }
    std::string dir(const char* which) const { return (root_ / which).string(); }
    ~TlsTestCreds() { std::filesystem::remove_all(root_); }

private:
    TlsTestCreds()
    {
        char tmpl[] = "/tmp/colo-tls-creds-XXXXXX";
        REQUIRE(::mkdtemp(tmpl) != nullptr);
        root_ = tmpl;
        const auto script = std::filesystem::path(__FILE__).parent_path() / "make_tls_creds.sh";
        const std::string command = script.string() + " " + root_.string();
        REQUIRE(std::system(command.c_str()) == 0);
    }
    std::filesystem::path root_;
};

} // namespace colo::test
