// A scratch directory for one test, removed with everything in it when the
// test ends.
#pragma once

#include <catch2/catch.hpp>

#include <cstdlib>
#include <filesystem>
#include <string>

namespace colo::testing {

struct TempDir {
    std::filesystem::path path;

    explicit TempDir(const std::string& prefix = "colo-test")
    {
        std::string tmpl = "/tmp/" + prefix + "-XXXXXX";
        REQUIRE(::mkdtemp(tmpl.data()) != nullptr);
        path = tmpl;
    }
    ~TempDir() { std::filesystem::remove_all(path); }
    TempDir(const TempDir&) = delete;
    TempDir& operator=(const TempDir&) = delete;

    // A socket node's address for a unix socket named `name` in here.
    std::string unix_address(const char* name) const { return "unix:" + (path / name).string(); }
};

} // namespace colo::testing
