#include <catch2/catch.hpp>
#include "engine/packet.hh"
TEST_CASE("packet copy-on-write", "[packet]") {
    const uint8_t bytes[4] = {1, 2, 3, 4};
    auto a = colo::Packet::copy_of(bytes, 4);
    auto b = a;
    CHECK(a.data() == b.data());
    b.mutable_data()[0] = 9;
    CHECK(a.data()[0] == 1);
    CHECK(b.data()[0] == 9);
}
