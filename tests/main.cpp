// SPDX-License-Identifier: Apache-2.0
// The Catch2 runner; the tests themselves live in tests/test_*.cpp.
#define CATCH_CONFIG_MAIN
#include <catch2/catch.hpp>
