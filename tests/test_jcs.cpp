// SPDX-License-Identifier: Apache-2.0
#include <catch2/catch.hpp>

#include <cmath>
#include <cstdint>
#include <cstdlib>
#include <cstring>
#include <limits>
#include <random>
#include <string>
#include <vector>

#include <nlohmann/json.hpp>

#include "fooocus_audit/jcs.hpp"

namespace jcs = fooocus_audit::jcs;
using nlohmann::json;

namespace {

double from_bits(std::uint64_t bits) {
  double d;
  std::memcpy(&d, &bits, sizeof d);
  return d;
}

std::string number(double d) { return jcs::number_to_string(d); }

std::string jcs_string(std::string_view s) {
  std::string out;
  jcs::append_string(out, s);
  return out;
}

/// UTF-8 of one code point (no validation: tests build invalid input by hand).
std::string utf8(std::uint32_t cp) {
  std::string s;
  if (cp < 0x80) {
    s += static_cast<char>(cp);
  } else if (cp < 0x800) {
    s += static_cast<char>(0xC0 | cp >> 6);
    s += static_cast<char>(0x80 | (cp & 0x3F));
  } else if (cp < 0x10000) {
    s += static_cast<char>(0xE0 | cp >> 12);
    s += static_cast<char>(0x80 | (cp >> 6 & 0x3F));
    s += static_cast<char>(0x80 | (cp & 0x3F));
  } else {
    s += static_cast<char>(0xF0 | cp >> 18);
    s += static_cast<char>(0x80 | (cp >> 12 & 0x3F));
    s += static_cast<char>(0x80 | (cp >> 6 & 0x3F));
    s += static_cast<char>(0x80 | (cp & 0x3F));
  }
  return s;
}

jcs::ScanResult scan(std::string_view text, std::size_t max_depth = jcs::default_max_depth) {
  return jcs::scan_object(text, nullptr, 0, max_depth);
}

/// Problem name and offset, so that a failing CHECK prints both.
std::string verdict(std::string_view text) {
  const auto r = scan(text);
  if (r.problem == jcs::Problem::none) return "none";
  return std::string(jcs::problem_name(r.problem)) + "@" + std::to_string(r.offset);
}

std::string error_path(const json& v) {
  try {
    (void)jcs::serialize(v);
  } catch (const jcs::Error& e) {
    return e.path();
  }
  return "<no error>";
}

std::string error_message(const json& v) {
  try {
    (void)jcs::serialize(v);
  } catch (const jcs::Error& e) {
    return e.what();
  }
  return "<no error>";
}

json nested_arrays(std::size_t depth) {
  json v = json::array();
  for (std::size_t i = 1; i < depth; ++i) v = json::array({v});
  return v;
}

std::string nested_text(std::size_t depth) {  // an object holding arrays, `depth` containers in all
  std::string s = "{\"a\":";
  for (std::size_t i = 1; i < depth; ++i) s += '[';
  for (std::size_t i = 1; i < depth; ++i) s += ']';
  return s + "}";
}

// ----- random values -------------------------------------------------------------------------------

struct Gen {
  std::mt19937_64 rng;
  explicit Gen(std::uint64_t seed) : rng(seed) {}

  std::uint64_t below(std::uint64_t n) { return rng() % n; }

  std::uint32_t code_point() {
    switch (below(10)) {
      case 0: return static_cast<std::uint32_t>(below(0x20));            // controls
      case 1: {
        static const char special[] = "\"\\/~ \x7f";
        return static_cast<unsigned char>(special[below(sizeof special - 1)]);
      }
      case 2: return 0x80 + static_cast<std::uint32_t>(below(0x780));    // 2-byte
      case 3: return 0x800 + static_cast<std::uint32_t>(below(0xD000));  // 3-byte below surrogates
      case 4: return 0xE000 + static_cast<std::uint32_t>(below(0x2000));  // U+E000..U+FFFF
      case 5: return 0x10000 + static_cast<std::uint32_t>(below(0x100000));  // supplementary
      case 6: return 0x2028;
      default: return 0x20 + static_cast<std::uint32_t>(below(0x5F));    // printable ASCII
    }
  }

  std::string text(std::size_t max_len) {
    std::string s;
    const std::size_t n = below(max_len + 1);
    for (std::size_t i = 0; i < n; ++i) s += utf8(code_point());
    return s;
  }

  double finite_double() {
    static const double interesting[] = {0.0, -0.0, 1.0, -1.0, 0.1, 0.5, 1e21, 1e-7, 1e-6, 123.456,
                                         5e-324, 1.7976931348623157e308, 9007199254740991.0, 1e300};
    if (below(3) == 0) return interesting[below(sizeof interesting / sizeof interesting[0])];
    for (;;) {
      double d = from_bits(rng());
      if (!std::isfinite(d)) continue;
      if (below(2) == 0) {  // also numbers of ordinary size
        const double whole = static_cast<double>(below(1000));
        const int scale = static_cast<int>(below(30));
        d = std::ldexp(std::fmod(d, 1.0) + whole, -scale);
      }
      const double m = std::fabs(d);
      if (m >= 9007199254740992.0 && m < 1e21) continue;  // integral, outside I-JSON: not serializable
      return d;
    }
  }

  json value(int depth) {
    const std::uint64_t kind = below(depth > 5 ? 6 : 9);
    switch (kind) {
      case 0: return nullptr;
      case 1: return below(2) == 0;
      case 2: return static_cast<std::int64_t>(below(2 * 9007199254740991ull + 1)) - 9007199254740991ll;
      case 3: return static_cast<std::int64_t>(below(2000)) - 1000;
      case 4: return finite_double();
      case 5: return text(12);
      case 6:
      case 7: return object(depth + 1);
      default: {
        json a = json::array();
        const std::size_t n = below(5);
        for (std::size_t i = 0; i < n; ++i) a.push_back(value(depth + 1));
        return a;
      }
    }
  }

  json object(int depth) {
    json o = json::object();
    const std::size_t n = below(7);
    for (std::size_t i = 0; i < n; ++i) o[text(6)] = value(depth);
    return o;
  }
};

}  // namespace

// ----- numbers -------------------------------------------------------------------------------------

TEST_CASE("jcs: RFC 8785 Appendix B number serialization samples") {
  const struct {
    std::uint64_t bits;
    const char* text;
  } samples[] = {
      {0x0000000000000000, "0"},
      {0x8000000000000000, "0"},
      {0x0000000000000001, "5e-324"},
      {0x8000000000000001, "-5e-324"},
      {0x7fefffffffffffff, "1.7976931348623157e+308"},
      {0xffefffffffffffff, "-1.7976931348623157e+308"},
      {0x4340000000000000, "9007199254740992"},
      {0xc340000000000000, "-9007199254740992"},
      {0x4430000000000000, "295147905179352830000"},
      {0x44b52d02c7e14af5, "9.999999999999997e+22"},
      {0x44b52d02c7e14af6, "1e+23"},
      {0x44b52d02c7e14af7, "1.0000000000000001e+23"},
      {0x444b1ae4d6e2ef4e, "999999999999999700000"},
      {0x444b1ae4d6e2ef4f, "999999999999999900000"},
      {0x444b1ae4d6e2ef50, "1e+21"},
      {0x3eb0c6f7a0b5ed8c, "9.999999999999997e-7"},
      {0x3eb0c6f7a0b5ed8d, "0.000001"},
      {0x41b3de4355555553, "333333333.3333332"},
      {0x41b3de4355555554, "333333333.33333325"},
      {0x41b3de4355555555, "333333333.3333333"},
      {0x41b3de4355555556, "333333333.3333334"},
      {0x41b3de4355555557, "333333333.33333343"},
      {0xbecbf647612f3696, "-0.0000033333333333333333"},
      {0x43143ff3c1cb0959, "1424953923781206.2"},
  };
  for (const auto& s : samples) {
    INFO("bits " << std::hex << s.bits);
    CHECK(number(from_bits(s.bits)) == s.text);
  }
  // The Appendix B error cases: NaN and Infinity.
  for (const std::uint64_t bits : {0x7fffffffffffffffull, 0x7ff0000000000000ull, 0xfff0000000000000ull}) {
    CHECK_THROWS_AS(jcs::number_to_string(from_bits(bits)), jcs::Error);
    std::string out = "x";
    CHECK_THROWS_AS(jcs::append_number(out, from_bits(bits)), jcs::Error);
    CHECK(out == "x");
  }
  // append_number writes the same text, except where I-JSON forbids the integer it would spell.
  for (const auto& s : samples) {
    const double d = from_bits(s.bits);
    std::string out;
    if (std::fabs(d) >= 9007199254740992.0 && std::fabs(d) < 1e21) {
      CHECK_THROWS_AS(jcs::append_number(out, d), jcs::Error);
      CHECK(out.empty());
    } else {
      jcs::append_number(out, d);
      CHECK(out == s.text);
    }
  }
}

TEST_CASE("jcs: number layout follows ECMAScript Number::toString") {
  CHECK(number(1) == "1");
  CHECK(number(-1) == "-1");
  CHECK(number(100) == "100");
  CHECK(number(1e20) == "100000000000000000000");
  CHECK(number(1e21) == "1e+21");
  CHECK(number(1.5e21) == "1.5e+21");
  CHECK(number(123.456) == "123.456");
  CHECK(number(-0.5) == "-0.5");
  CHECK(number(0.1) == "0.1");
  CHECK(number(0.000001) == "0.000001");
  CHECK(number(0.0000012) == "0.0000012");
  CHECK(number(1e-7) == "1e-7");
  CHECK(number(1.25e-7) == "1.25e-7");
  CHECK(number(1e-27) == "1e-27");
  CHECK(number(1e30) == "1e+30");
  CHECK(number(4.5) == "4.5");
  CHECK(number(0.002) == "0.002");
  CHECK(number(std::numeric_limits<double>::denorm_min()) == "5e-324");
}

TEST_CASE("jcs: integers outside the I-JSON range are refused and must become strings") {
  std::string out;
  jcs::append_integer(out, jcs::max_safe_integer);
  jcs::append_integer(out, -jcs::max_safe_integer);
  jcs::append_integer(out, 0);
  CHECK(out == "9007199254740991-90071992547409910");
  CHECK_THROWS_AS(jcs::append_integer(out, jcs::max_safe_integer + 1), jcs::Error);
  CHECK_THROWS_AS(jcs::append_integer(out, -jcs::max_safe_integer - 1), jcs::Error);
  CHECK_THROWS_AS(jcs::append_integer(out, std::numeric_limits<std::int64_t>::min()), jcs::Error);

  CHECK(jcs::serialize(json{{"n", 9007199254740991ll}}) == R"({"n":9007199254740991})");
  CHECK(jcs::serialize(json{{"n", -9007199254740991ll}}) == R"({"n":-9007199254740991})");
  CHECK(jcs::serialize(json{{"n", 9007199254740991ull}}) == R"({"n":9007199254740991})");
  CHECK(error_path(json{{"seed", 9007199254740992ll}}) == "/seed");
  CHECK(error_path(json{{"seed", 18446744073709551615ull}}) == "/seed");
  CHECK(error_path(json{{"seed", -9007199254740992ll}}) == "/seed");
  CHECK_THAT(error_message(json{{"seed", 9007199254740993ull}}), Catch::Contains("string"));
  // An integral double below 1e21 would be written as an integer token, so the same bound applies.
  CHECK(error_path(json{{"x", 9007199254740992.0}}) == "/x");
  CHECK_THAT(error_message(json{{"x", 9007199254740992.0}}), Catch::Contains("string"));
  CHECK(error_path(json{{"x", -1e20}}) == "/x");
  CHECK_THROWS_AS(jcs::append_number(out, 1e20), jcs::Error);
  CHECK_THROWS_AS(jcs::append_number(out, -9007199254740992.0), jcs::Error);
  out.clear();
  jcs::append_number(out, 9007199254740991.0);
  jcs::append_number(out, 1e21);
  CHECK(out == "9007199254740991" "1e+21");
  CHECK(jcs::serialize(json{{"x", 1e21}}) == R"({"x":1e+21})");
  CHECK(jcs::serialize(json{{"x", 9007199254740991.0}}) == R"({"x":9007199254740991})");
  CHECK(jcs::serialize(json{{"x", 2.5}}) == R"({"x":2.5})");
  CHECK(jcs::serialize(json{{"x", -0.0}}) == R"({"x":0})");
}

// ----- strings -------------------------------------------------------------------------------------

TEST_CASE("jcs: string escaping of every control character and nothing else") {
  const char* const expected[0x20] = {
      R"(\u0000)", R"(\u0001)", R"(\u0002)", R"(\u0003)", R"(\u0004)", R"(\u0005)", R"(\u0006)", R"(\u0007)",
      R"(\b)",     R"(\t)",     R"(\n)",     R"(\u000b)", R"(\f)",     R"(\r)",     R"(\u000e)", R"(\u000f)",
      R"(\u0010)", R"(\u0011)", R"(\u0012)", R"(\u0013)", R"(\u0014)", R"(\u0015)", R"(\u0016)", R"(\u0017)",
      R"(\u0018)", R"(\u0019)", R"(\u001a)", R"(\u001b)", R"(\u001c)", R"(\u001d)", R"(\u001e)", R"(\u001f)",
  };
  for (unsigned c = 0; c < 0x20; ++c) {
    INFO("control " << c);
    const std::string in(1, static_cast<char>(c));
    CHECK(jcs_string(in) == "\"" + std::string(expected[c]) + "\"");
    // The same escape amid plain text, on both sides of the 8-byte fast path.
    CHECK(jcs_string("abcdefghij" + in + "klmnopqrstu") == "\"abcdefghij" + std::string(expected[c]) + "klmnopqrstu\"");
  }
  CHECK(jcs_string("\"") == R"("\"")");
  CHECK(jcs_string("\\") == R"("\\")");
  CHECK(jcs_string("/") == R"("/")");
  CHECK(jcs_string("\x7f") == "\"\x7f\"");                             // U+007F stays raw
  CHECK(jcs_string("\xe2\x80\xa8") == "\"\xe2\x80\xa8\"");             // U+2028 stays raw
  CHECK(jcs_string("\xf0\x9f\x98\x80") == "\"\xf0\x9f\x98\x80\"");     // emoji stays raw
  CHECK(jcs_string("caf\xc3\xa9 \xe2\x82\xac") == "\"caf\xc3\xa9 \xe2\x82\xac\"");
  CHECK(jcs_string("") == R"("")");
  CHECK(jcs_string("a long plain ASCII string of more than sixteen bytes") ==
        R"("a long plain ASCII string of more than sixteen bytes")");
}

TEST_CASE("jcs: append_string validates UTF-8 and leaves out unchanged on error") {
  const char* const valid[] = {
      "\xc2\x80", "\xdf\xbf", "\xe0\xa0\x80", "\xed\x9f\xbf", "\xee\x80\x80",
      "\xef\xbf\xbf", "\xf0\x90\x80\x80", "\xf4\x8f\xbf\xbf",
  };
  for (const char* v : valid) {
    INFO("valid " << v);
    CHECK(jcs_string(v) == "\"" + std::string(v) + "\"");
  }
  const std::string invalid[] = {
      "\x80",                  // stray continuation
      "\xbf",                  //
      "\xc0\xaf",              // overlong '/'
      "\xc1\xbf",              // overlong
      "\xe0\x80\xaf",          // overlong 3-byte
      "\xe0\x9f\xbf",          // overlong 3-byte
      "\xf0\x80\x80\xaf",      // overlong 4-byte
      "\xf0\x8f\xbf\xbf",      // overlong 4-byte
      "\xed\xa0\x80",          // U+D800
      "\xed\xbf\xbf",          // U+DFFF
      "\xed\xa0\xbd\xed\xb8\x80",  // CESU-8 surrogate pair
      "\xf4\x90\x80\x80",      // U+110000
      "\xf5\x80\x80\x80",      //
      "\xf8\x88\x80\x80\x80",  // 5-byte form
      "\xfe",
      "\xff",
      "\xc3",                  // truncated
      "\xe2\x82",              //
      "\xf0\x9f\x98",          //
      "\xc3(",                 // bad continuation
      "\xe2\x28\xa1",          //
      std::string("abcdefgh\xe2\x82", 10),
  };
  for (const auto& s : invalid) {
    INFO("invalid, first byte " << static_cast<int>(static_cast<unsigned char>(s[0])));
    std::string out = "keep";
    CHECK_THROWS_AS(jcs::append_string(out, s), jcs::Error);
    CHECK(out == "keep");
    CHECK(scan("{\"a\":\"" + s + "\"}").problem == jcs::Problem::invalid_utf8);
    CHECK(scan("{\"" + s + "\":1}").problem == jcs::Problem::invalid_utf8);
  }
  try {
    std::string out;
    jcs::append_string(out, "ok\xff");
    FAIL("no exception");
  } catch (const jcs::Error& e) {
    CHECK(e.path().empty());
  }
}

// ----- member order ---------------------------------------------------------------------------------

TEST_CASE("jcs: key_less orders by UTF-16 code units") {
  CHECK(jcs::key_less("a", "b"));
  CHECK_FALSE(jcs::key_less("b", "a"));
  CHECK_FALSE(jcs::key_less("a", "a"));
  CHECK(jcs::key_less("", "a"));
  CHECK(jcs::key_less("abc", "abcd"));
  CHECK(jcs::key_less("abcdefghij", "abcdefghik"));
  CHECK(jcs::key_less("B", "a"));
  CHECK(jcs::key_less("\r", "1"));
  CHECK(jcs::key_less("\x7f", "\xc2\x80"));
  // A supplementary character (surrogates D800..DBFF in UTF-16) sorts before U+E000..U+FFFF,
  // although its UTF-8 and code point are larger; after everything below U+D800.
  const std::string emoji = utf8(0x1F600);
  for (const std::uint32_t bmp : {0xE000u, 0xFB33u, 0xFFFFu}) {
    CHECK(jcs::key_less(emoji, utf8(bmp)));
    CHECK_FALSE(jcs::key_less(utf8(bmp), emoji));
    CHECK(jcs::key_less("longer common prefix " + emoji, "longer common prefix " + utf8(bmp)));
  }
  for (const std::uint32_t bmp : {0x20ACu, 0xD7FFu, 0x80u, 0x41u}) {
    CHECK(jcs::key_less(utf8(bmp), emoji));
    CHECK_FALSE(jcs::key_less(emoji, utf8(bmp)));
  }
  CHECK(jcs::key_less(utf8(0x1F600), utf8(0x1F601)));
  CHECK(jcs::key_less(utf8(0x10000), utf8(0x10FFFF)));
}

TEST_CASE("jcs: RFC 8785 section 3.2.3 sorting example") {
  const json v = json::parse(R"({
    "\u20ac": "Euro Sign",
    "\r": "Carriage Return",
    "\ufb33": "Hebrew Letter Dalet With Dagesh",
    "1": "One",
    "\ud83d\ude00": "Emoji: Grinning Face",
    "\u0080": "Control",
    "\u00f6": "Latin Small Letter O With Diaeresis"
  })");
  const std::string expected =
      "{\"\\r\":\"Carriage Return\",\"1\":\"One\",\"\xc2\x80\":\"Control\","
      "\"\xc3\xb6\":\"Latin Small Letter O With Diaeresis\",\"\xe2\x82\xac\":\"Euro Sign\","
      "\"\xf0\x9f\x98\x80\":\"Emoji: Grinning Face\",\"\xef\xac\xb3\":\"Hebrew Letter Dalet With Dagesh\"}";
  CHECK(jcs::serialize(v) == expected);
  jcs::Member m[8];
  const auto r = jcs::scan_object(expected, m, 8);
  REQUIRE(r.problem == jcs::Problem::none);
  REQUIRE(r.members == 7);
  CHECK(m[0].key == "\\r");
  CHECK(m[0].value == "\"Carriage Return\"");
  CHECK(m[5].key == "\xf0\x9f\x98\x80");
  CHECK(m[6].value == "\"Hebrew Letter Dalet With Dagesh\"");
}

TEST_CASE("jcs: RFC 8785 section 3.2.2 example") {
  const json v = json::parse(R"({
    "numbers": [333333333.33333329, 1E30, 4.50, 2e-3, 0.000000000000000000000000001],
    "string": "\u20ac$\u000F\u000aA'\u0042\u0022\u005c\\\"\/",
    "literals": [null, true, false]
  })");
  const std::string expected =
      "{\"literals\":[null,true,false],\"numbers\":[333333333.3333333,1e+30,4.5,0.002,1e-27],"
      "\"string\":\"\xe2\x82\xac$\\u000f\\nA'B\\\"\\\\\\\\\\\"/\"}";
  CHECK(jcs::serialize(v) == expected);
  CHECK(verdict(expected) == "none");
}

TEST_CASE("jcs: members with a supplementary character and U+E000..U+FFFF are re-sorted") {
  json v = json::object();
  v[utf8(0xFFFF)] = 1;
  v[utf8(0x1F600)] = 2;
  v["a"] = {{utf8(0xE000), 3}, {utf8(0x10000), 4}, {"z", 5}};
  const std::string expected = "{\"a\":{\"z\":5,\"" + utf8(0x10000) + "\":4,\"" + utf8(0xE000) + "\":3},\"" +
                               utf8(0x1F600) + "\":2,\"" + utf8(0xFFFF) + "\":1}";
  CHECK(jcs::serialize(v) == expected);
  CHECK(verdict(expected) == "none");
}

// ----- errors --------------------------------------------------------------------------------------

TEST_CASE("jcs: Error names the JSON Pointer path of the offending value") {
  json v = {{"a", json::array({1, json::object()})}};
  v["a"][1]["b"] = std::nan("");
  CHECK(error_path(v) == "/a/1/b");
  CHECK_THAT(error_message(v), Catch::StartsWith("/a/1/b: "));

  json inf = {{"event", {{"outputs", json::array({json::object()})}}}};
  inf["event"]["outputs"][0]["width"] = std::numeric_limits<double>::infinity();
  CHECK(error_path(inf) == "/event/outputs/0/width");

  json escaped = json::object();
  escaped["x/y"]["m~n"] = -std::numeric_limits<double>::infinity();
  CHECK(error_path(escaped) == "/x~1y/m~0n");

  CHECK(error_path(json(std::nan(""))) == "");
  CHECK(std::string(error_message(json(std::nan("")))).find(':') == std::string::npos);

  CHECK(error_path(json{{"bin", json::binary({1, 2, 3})}}) == "/bin");
  CHECK(error_path(json{{"d", json(json::value_t::discarded)}}) == "/d");
  CHECK(error_path(json{{"s", "ok"}, {"t", "bad\xc3"}}) == "/t");
  CHECK(error_path(json{{"ok", {{"\xff", 1}}}}) == "/ok");  // a bad member name: its object's path
  CHECK(error_path(json::array({json::array({1, 2, "\xed\xa0\x80"})})) == "/0/2");
}

TEST_CASE("jcs: the writer refuses nesting deeper than the format allows") {
  CHECK_NOTHROW(jcs::serialize(nested_arrays(jcs::default_max_depth)));
  CHECK_THROWS_AS(jcs::serialize(nested_arrays(jcs::default_max_depth + 1)), jcs::Error);
  json obj = {{"a", nested_arrays(jcs::default_max_depth - 1)}};
  CHECK(verdict(jcs::serialize(obj)) == "none");
  obj = {{"a", nested_arrays(jcs::default_max_depth)}};
  CHECK_THROWS_AS(jcs::serialize(obj), jcs::Error);
}

// ----- scanner: acceptance -------------------------------------------------------------------------

TEST_CASE("jcs: scan_object accepts canonical objects and reports top-level members") {
  CHECK(verdict("{}") == "none");
  CHECK(verdict(R"({"a":[]})") == "none");
  CHECK(verdict(R"({"a":{}})") == "none");
  CHECK(verdict(R"({"a":[{},[],"",0,-1,true,false,null,1.5,-0.001,1e+21,5e-324]})") == "none");
  CHECK(verdict("{\"\\n\":1,\"A\":2}") == "none");  // decoded 0x0A sorts before 'A'
  CHECK(verdict("{\"\\u001f\":1,\" \":2}") == "none");
  CHECK(verdict("{\"a\":\"\x7f\"}") == "none");
  CHECK(verdict("{\"\\\"\":1,\"\\\\\":2}") == "none");  // '"' (0x22) before '\' (0x5C)

  const std::string text = R"({"event":{"event_type":"x","n":[1,2]},"log_id":"ab","seq":42,"v":1})";
  jcs::Member m[3];
  auto r = jcs::scan_object(text, m, 3);
  REQUIRE(r.problem == jcs::Problem::none);
  CHECK(r.offset == 0);
  CHECK(r.members == 3);
  CHECK(r.total_members == 4);
  CHECK(m[0].key == "event");
  CHECK(m[0].value == R"({"event_type":"x","n":[1,2]})");
  CHECK(m[1].key == "log_id");
  CHECK(m[1].value == R"("ab")");
  CHECK(m[2].key == "seq");
  CHECK(m[2].value == "42");
  r = jcs::scan_object(text, nullptr, 0);
  CHECK(r.problem == jcs::Problem::none);
  CHECK(r.members == 0);
  CHECK(r.total_members == 4);
}

TEST_CASE("jcs: scanner depth limit") {
  CHECK(verdict(nested_text(64)) == "none");
  CHECK(verdict(nested_text(65)) == "depth@68");
  CHECK(scan(R"({"a":{"b":1}})", 2).problem == jcs::Problem::none);
  CHECK(scan(R"({"a":{"b":[]}})", 2).problem == jcs::Problem::depth);
  CHECK(scan("{}", 0).problem == jcs::Problem::depth);
  CHECK(scan(nested_text(jcs::max_depth_limit), 100000).problem == jcs::Problem::none);
  CHECK(scan(nested_text(jcs::max_depth_limit + 1), 100000).problem == jcs::Problem::depth);
  std::string deep = "{\"a\":" + std::string(100000, '[');  // no stack overflow
  CHECK(scan(deep, 100000).problem == jcs::Problem::depth);
}

// ----- scanner: rejection --------------------------------------------------------------------------

TEST_CASE("jcs: scanner rejects each kind of non-canonical text") {
  // whitespace and structure
  CHECK(verdict(R"({"a": 1})") == "syntax@5");
  CHECK(verdict(R"({ "a":1})") == "syntax@1");
  CHECK(verdict(R"({"a":1} )") == "trailing_data@7");
  CHECK(verdict("{\"a\":1}\n") == "trailing_data@7");
  CHECK(verdict("{}{}") == "trailing_data@2");
  CHECK(verdict(" {}") == "syntax@0");
  CHECK(verdict("") == "syntax@0");
  CHECK(verdict("[]") == "syntax@0");
  CHECK(verdict("\"a\"") == "syntax@0");
  CHECK(verdict("{") == "syntax@1");
  CHECK(verdict(R"({"a"})") == "syntax@4");
  CHECK(verdict(R"({"a":})") == "syntax@5");
  CHECK(verdict(R"({"a":1,})") == "syntax@7");
  CHECK(verdict(R"({,})") == "syntax@1");
  CHECK(verdict(R"({"a":[1,]})") == "syntax@8");
  CHECK(verdict(R"({"a":[1})") == "syntax@7");
  CHECK(verdict(R"({"a":{"b":1]})") == "syntax@11");
  CHECK(verdict(R"({"a":tru})") == "syntax@5");
  CHECK(verdict(R"({"a":nul)") == "syntax@5");
  CHECK(verdict(R"({"a":True})") == "syntax@5");
  CHECK(verdict(R"({"a":"open)") == "syntax@10");
  CHECK(verdict(R"({a:1})") == "syntax@1");
  CHECK(verdict(std::string("{\"a\":1}\0", 8)) == "trailing_data@7");

  // numbers
  CHECK(verdict(R"({"a":1.0})") == "non_canonical_number@5");
  CHECK(verdict(R"({"a":1e5})") == "non_canonical_number@5");
  CHECK(verdict(R"({"a":1E5})") == "non_canonical_number@5");
  CHECK(verdict(R"({"a":1e+5})") == "non_canonical_number@5");
  CHECK(verdict(R"({"a":1E+21})") == "non_canonical_number@5");
  CHECK(verdict(R"({"a":1e21})") == "non_canonical_number@5");
  CHECK(verdict(R"({"a":0.10})") == "non_canonical_number@5");
  CHECK(verdict(R"({"a":.5})") == "syntax@5");
  CHECK(verdict(R"({"a":1.})") == "syntax@7");
  CHECK(verdict(R"({"a":+1})") == "syntax@5");
  CHECK(verdict(R"({"a":-})") == "syntax@6");
  CHECK(verdict(R"({"a":1e})") == "syntax@7");
  CHECK(verdict(R"({"a":01})") == "syntax@6");  // not JSON: a leading zero ends the number
  CHECK(verdict(R"({"a":-0})") == "non_canonical_number@5");
  CHECK(verdict(R"({"a":-0.0})") == "non_canonical_number@5");
  CHECK(verdict(R"({"a":0.0})") == "non_canonical_number@5");
  CHECK(verdict(R"({"a":0.000001})") == "none");
  CHECK(verdict(R"({"a":1e-6})") == "non_canonical_number@5");
  CHECK(verdict(R"({"a":1e-7})") == "none");
  CHECK(verdict(R"({"a":0.0000001})") == "non_canonical_number@5");
  CHECK(verdict(R"({"a":333333333.33333329})") == "non_canonical_number@5");
  CHECK(verdict(R"({"a":0.10000000000000000000000000000000001})") == "non_canonical_number@5");
  CHECK(verdict(R"({"a":9007199254740991})") == "none");
  CHECK(verdict(R"({"a":-9007199254740991})") == "none");
  CHECK(verdict(R"({"a":9007199254740992})") == "number_range@5");
  CHECK(verdict(R"({"a":-9007199254740992})") == "number_range@5");
  CHECK(verdict(R"({"a":100000000000000000000})") == "number_range@5");
  CHECK(verdict(R"({"a":12345678901234567890123})") == "number_range@5");
  CHECK(verdict(R"({"a":1e+400})") == "number_range@5");
  CHECK(verdict(R"({"a":1e+21})") == "none");
  CHECK(verdict(R"({"a":1.7976931348623157e+308})") == "none");
  CHECK(verdict(R"({"a":-5e-324})") == "none");

  // member order
  CHECK(verdict(R"({"b":1,"a":2})") == "key_order@7");
  CHECK(verdict(R"({"a":1,"a":2})") == "duplicate_key@7");
  CHECK(verdict(R"({"a":{"c":1,"b":2}})") == "key_order@12");
  CHECK(verdict(R"({"a":[{"x":1,"x":2}]})") == "duplicate_key@13");
  CHECK(verdict(R"({"ab":1,"a":2})") == "key_order@8");
  CHECK(verdict(R"({"a":{"z":1},"b":{"a":1}})") == "none");  // order is per object
  CHECK(verdict("{\"A\":1,\"\\n\":2}") == "key_order@7");
  CHECK(verdict("{\"\\n\":1,\"\\n\":2}") == "duplicate_key@8");
  CHECK(verdict("{\"\\u0001\":1,\"\\u0000\":2}") == "key_order@12");
  CHECK(verdict("{\"" + utf8(0xFFFF) + "\":1,\"" + utf8(0x1F600) + "\":2}") == "key_order@9");
  CHECK(verdict("{\"" + utf8(0x1F600) + "\":1,\"" + utf8(0xFFFF) + "\":2}") == "none");

  // strings
  CHECK(verdict(R"({"a":"\u0041"})") == "non_canonical_string@6");
  CHECK(verdict(R"({"\u0061":1})") == "non_canonical_string@2");
  CHECK(verdict(R"({"a":"\/"})") == "non_canonical_string@6");
  CHECK(verdict(R"({"a":"\u001F"})") == "non_canonical_string@6");
  CHECK(verdict(R"({"a":"\u001f"})") == "none");
  CHECK(verdict(R"({"a":"\u000a"})") == "non_canonical_string@6");
  CHECK(verdict(R"({"a":"\u0008"})") == "non_canonical_string@6");
  CHECK(verdict(R"({"a":"\u000b"})") == "none");
  CHECK(verdict(R"({"a":"\u007f"})") == "non_canonical_string@6");
  CHECK(verdict(R"({"a":"\u00e9"})") == "non_canonical_string@6");
  CHECK(verdict(R"({"a":"\u2028"})") == "non_canonical_string@6");
  // Escaped surrogates never occur in JCS output; they are rejected without being decoded.
  CHECK(verdict(R"({"a":"\ud800"})") == "non_canonical_string@6");
  CHECK(verdict(R"({"a":"\ud83d\ude00"})") == "non_canonical_string@6");
  CHECK(verdict(R"({"a":"\x"})") == "syntax@6");
  CHECK(verdict(R"({"a":"\u12"})") == "syntax@6");
  CHECK(verdict(R"({"a":"\u00g1"})") == "syntax@6");
  CHECK(verdict("{\"a\":\"x\x01\"}") == "non_canonical_string@7");
  CHECK(verdict("{\"a\":\"0123456789\t\"}") == "non_canonical_string@16");
  CHECK(verdict("{\"a\":\"0123456789\xc0\xaf\"}") == "invalid_utf8@16");
  CHECK(verdict("{\"a\":\"\xed\xa0\x80\"}") == "invalid_utf8@6");
  CHECK(verdict("{\"a\":\"\xf0\x9f\x98\"}") == "invalid_utf8@6");
  CHECK(verdict("{\"a\":\"\xf0\x9f\x98") == "invalid_utf8@6");
  CHECK(verdict("{\"a\":\"\xe2\x80\xa8\"}") == "none");
}

TEST_CASE("jcs: problem_name covers every problem") {
  CHECK(jcs::problem_name(jcs::Problem::none) == "none");
  CHECK(jcs::problem_name(jcs::Problem::syntax) == "syntax");
  CHECK(jcs::problem_name(jcs::Problem::invalid_utf8) == "invalid_utf8");
  CHECK(jcs::problem_name(jcs::Problem::non_canonical_string) == "non_canonical_string");
  CHECK(jcs::problem_name(jcs::Problem::non_canonical_number) == "non_canonical_number");
  CHECK(jcs::problem_name(jcs::Problem::key_order) == "key_order");
  CHECK(jcs::problem_name(jcs::Problem::duplicate_key) == "duplicate_key");
  CHECK(jcs::problem_name(jcs::Problem::depth) == "depth");
  CHECK(jcs::problem_name(jcs::Problem::trailing_data) == "trailing_data");
  CHECK(jcs::problem_name(jcs::Problem::number_range) == "number_range");
}

// ----- properties ----------------------------------------------------------------------------------

TEST_CASE("jcs: serialize round-trips through scan_object and an independent parser") {
  Gen gen(0x5eed);
  for (int i = 0; i < 3000; ++i) {
    const json v = gen.object(0);
    const std::string text = jcs::serialize(v);
    INFO("text " << text);
    std::vector<jcs::Member> members(v.size() + 1);
    const auto r = jcs::scan_object(text, members.data(), members.size());
    REQUIRE(verdict(text) == "none");
    REQUIRE(r.members == v.size());
    REQUIRE(r.total_members == v.size());
    for (std::size_t k = 0; k < r.members; ++k) {
      // A top-level member's key and value are the canonical forms of some member of v, in order.
      const std::string key_text = "\"" + std::string(members[k].key) + "\"";
      const std::string key = json::parse(key_text).get<std::string>();
      REQUIRE(v.contains(key));
      CHECK(jcs_string(key) == key_text);
      CHECK(jcs::serialize(v.at(key)) == members[k].value);
      if (k > 0) CHECK(jcs::key_less(json::parse("\"" + std::string(members[k - 1].key) + "\"").get<std::string>(), key));
    }
    const json back = json::parse(text);
    CHECK(jcs::serialize(back) == text);
  }
}

TEST_CASE("jcs: every finite double is accepted exactly in its canonical spelling") {
  Gen gen(42);
  for (int i = 0; i < 20000; ++i) {
    const double d = gen.finite_double();
    const std::string n = number(d);
    INFO("number " << n);
    CHECK(verdict("{\"n\":" + n + "}") == "none");
    CHECK(std::strtod(n.c_str(), nullptr) == d);
    const auto e = n.find('e');
    if (n.find('.') != std::string::npos) {
      std::string padded = n;
      padded.insert(e == std::string::npos ? n.size() : e, "0");
      CHECK(verdict("{\"n\":" + padded + "}") == "non_canonical_number@5");
    }
    if (e != std::string::npos) {
      std::string upper = n;
      upper[e] = 'E';
      CHECK(verdict("{\"n\":" + upper + "}") == "non_canonical_number@5");
    }
  }
}

TEST_CASE("jcs: plain decimals are judged as a full parse and re-serialization would judge them") {
  // The scanner settles most "i.f" numbers without parsing them; compare with the slow definition.
  Gen gen(77);
  auto digits = [&](std::size_t n, bool leading_nonzero) {
    std::string d;
    for (std::size_t k = 0; k < n; ++k)
      d += static_cast<char>(k == 0 && leading_nonzero ? '1' + gen.below(9) : '0' + gen.below(10));
    return d;
  };
  std::size_t accepted = 0;
  const int rounds = 50000;
  for (int i = 0; i < rounds; ++i) {
    std::string s = gen.below(4) == 0 ? "-" : "";
    s += gen.below(3) == 0 ? "0" : digits(1 + gen.below(gen.below(4) == 0 ? 22 : 4), true);
    s += '.';
    s.append(gen.below(3) == 0 ? gen.below(9) : 0, '0');
    s += digits(1 + gen.below(gen.below(3) == 0 ? 20 : 6), false);
    const bool canonical = number(std::strtod(s.c_str(), nullptr)) == s;
    accepted += canonical ? 1 : 0;
    INFO("number " << s);
    CHECK(verdict("{\"n\":" + s + "}") == (canonical ? "none" : "non_canonical_number@5"));
  }
  CHECK(accepted > rounds / 4);
  CHECK(accepted < rounds * 3 / 4);
}

TEST_CASE("jcs: scan_object accepts exactly the texts that serialize produces (mutation test)") {
  // A text is canonical iff an independent parser reads it as an object that serializes back to
  // the same bytes. Mutate canonical texts at random and compare the scanner's verdict with that.
  Gen gen(1234);
  const char alphabet[] = "{}[]\",:\\/0123456789.eE+-abfnrtuxADFZ \t\n\x01\x7f\x80\xbf\xc3\xe2\xed\xef\xf0\xff";
  std::size_t accepted = 0;
  for (int i = 0; i < 20000; ++i) {
    std::string text = jcs::serialize(gen.object(0));
    const int edits = 1 + static_cast<int>(gen.below(3));
    for (int k = 0; k < edits; ++k) {
      const std::size_t at = gen.below(text.size() + 1);
      const char c = alphabet[gen.below(sizeof alphabet - 1)];
      switch (gen.below(3)) {
        case 0:
          if (at < text.size()) text[at] = c;
          break;
        case 1: text.insert(at, 1, c); break;
        default:
          if (at < text.size()) text.erase(at, 1);
      }
    }
    bool canonical = false;
    try {
      const json v = json::parse(text);
      canonical = v.is_object() && jcs::serialize(v) == text;
    } catch (const std::exception&) {
    }
    INFO("text " << text << " verdict " << verdict(text));
    REQUIRE((scan(text).problem == jcs::Problem::none) == canonical);
    accepted += canonical ? 1 : 0;
  }
  CHECK(accepted > 100);  // the mutations do leave some canonical texts
}
