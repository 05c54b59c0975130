// SPDX-License-Identifier: Apache-2.0
#pragma once
// Strict JSON equality for differential tests and fuzzers: same types and same values, numbers bit for bit
// (nlohmann's operator== calls 1 and 1.0 equal, and -0.0 and 0.0).

#include <cstring>

#include <nlohmann/json.hpp>

namespace fa_test {

inline bool identical(const nlohmann::json& a, const nlohmann::json& b) {
  using value_t = nlohmann::json::value_t;
  if (a.type() != b.type()) return false;
  switch (a.type()) {
    case value_t::object: {
      if (a.size() != b.size()) return false;
      for (auto it = a.begin(); it != a.end(); ++it) {
        const auto jt = b.find(it.key());
        if (jt == b.end() || !identical(*it, *jt)) return false;
      }
      return true;
    }
    case value_t::array: {
      if (a.size() != b.size()) return false;
      for (std::size_t i = 0; i < a.size(); ++i)
        if (!identical(a[i], b[i])) return false;
      return true;
    }
    case value_t::number_float: {
      const double x = a.get<double>(), y = b.get<double>();
      return std::memcmp(&x, &y, sizeof x) == 0;
    }
    default: return a == b;
  }
}

}  // namespace fa_test
