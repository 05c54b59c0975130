// SPDX-License-Identifier: Apache-2.0
// The record layer of docs/log-format.md §2-§3: timestamps, the genesis and chain hash test vectors,
// record::parse (strict acceptance of exactly what append_record produces), event types, and the
// GenerationEvent fast serializer against jcs::serialize.

#include <catch2/catch.hpp>
#include <cstdint>
#include <nlohmann/json.hpp>
#include <random>
#include <string>
#include <vector>

#include "support/log_fixture.hpp"

namespace fa = fooocus_audit;
namespace record = fooocus_audit::record;
using fa::record::ParseError;
using nlohmann::json;

namespace {

constexpr const char* kZeroLogId = "00000000000000000000000000000000";
// docs/log-format.md §3 test vectors, computed independently (Python hashlib) and pinned here.
constexpr const char* kGenesisZeroHex = "5ef67e525e7471451aa6aea3f7aac450d5c3cd7e57ec44fef9483fc1dcda8eb9";
constexpr const char* kExampleRecord =
    R"({"event":{"event_type":"generation.completed","request_id":"req_1"},)"
    R"("log_id":"00000000000000000000000000000000",)"
    R"("prev":"5ef67e525e7471451aa6aea3f7aac450d5c3cd7e57ec44fef9483fc1dcda8eb9",)"
    R"("seq":0,"ts":"2026-03-25T14:30:45.123456Z","v":1})";
constexpr const char* kExampleChainHex = "1548a4f1fcbefd14efbdeb4594ed337378f5b2a5f46659f8ccda7ab0fe463991";

std::string hex(const fa::Hash& h) { return fa::detail::to_hex(h); }

std::optional<std::int64_t> parse_ts(std::string_view s) {
  std::int64_t us = 0;
  if (!record::parse_timestamp(s, &us)) return std::nullopt;
  return us;
}

/// A valid record's members as JSON text, to be recombined with changes (member order kept by hand).
struct Parts {
  std::string event = R"({"event_type":"generation.completed","request_id":"req_1"})";
  std::string log_id = R"("00000000000000000000000000000000")";
  std::string mac;  // empty: absent
  std::string prev = R"("5ef67e525e7471451aa6aea3f7aac450d5c3cd7e57ec44fef9483fc1dcda8eb9")";
  std::string seq = "0";
  std::string ts = R"("2026-03-25T14:30:45.123456Z")";
  std::string v = "1";
  std::string extra_key, extra;  // an extra member appended at its JCS position is up to the caller

  std::string text() const {
    std::string s = "{";
    auto add = [&](const char* k, const std::string& val) {
      if (val.empty()) return;
      if (s.size() > 1) s += ',';
      s += '"';
      s += k;
      s += "\":";
      s += val;
    };
    add("event", event);
    add("log_id", log_id);
    add("mac", mac);
    add("prev", prev);
    add("seq", seq);
    add("ts", ts);
    add("v", v);
    if (!extra_key.empty()) s += ",\"" + extra_key + "\":" + extra;
    return s + "}";
  }
};

ParseError parse_error(const std::string& text) {
  record::View v;
  return record::parse(text, &v).error;
}

fa::GenerationEvent seed_article_event() {
  fa::GenerationEvent e;
  e.event_type = "image_generation";
  e.version = "1.0";
  e.timestamp = "2026-03-25T14:30:45.123Z";
  e.request_id = "req_764cabcf-b745-4b3e-ae38-1200304cf45b";
  e.user_id = "alice@enterprise.com";
  e.tenant_id = "acme_corp";
  e.session_id = "sess_9f8e7d6c";
  e.ip_address = "10.0.12.34";
  e.user_agent = "Mozilla/5.0";
  e.request.prompt_sanitized = "professional product photography, luxury watch on marble surface";
  e.request.prompt_hash = "sha256:" + std::string(64, 'b');
  e.request.negative_prompt = "blurry, low resolution, watermark";
  e.request.performance = "Quality";
  e.request.aspect_ratio = "1024x1024";
  e.request.num_images = 1;
  e.request.seed = 176400;
  e.request.loras = {{"brand-style-v2", 0.8}};
  e.request.styles = {"Fooocus Enhance", "Fooocus Sharp"};
  e.request.guidance_scale = 4.0;
  e.request.sharpness = 2.0;
  e.request.enable_safety_checker = true;
  e.processing.worker_id = "gpu-node-5";
  e.processing.queue_wait_ms = 234;
  e.processing.generation_duration_ms = 8542;
  e.processing.retry_count = 0;
  e.processing.model_version = "sd_xl_base_1.0";
  e.processing.refiner_model = "None";
  e.outputs = {{"s3://fooocus-outputs/acme_corp/2026/03/25/req_764cabcf.png",
                "sha256:" + std::string("3f2a9c") + std::string(58, 'e'), 1024, 1024, 524288}};
  e.safety.has_nsfw_concepts = false;
  e.safety.safety_checker_version = "v2.1";
  e.result = "success";
  return e;
}

std::string canonical(const fa::GenerationEvent& e) {
  std::string out;
  e.append_canonical(out);
  return out;
}

}  // namespace

// ---------------------------------------------------------------------------------------------------------
// Timestamps

TEST_CASE("record: format_timestamp and parse_timestamp round-trip", "[record]") {
  CHECK(record::format_timestamp(0) == "1970-01-01T00:00:00.000000Z");
  CHECK(record::format_timestamp(-1) == "1969-12-31T23:59:59.999999Z");
  CHECK(record::format_timestamp(1774449045123456) == "2026-03-25T14:30:45.123456Z");
  CHECK(record::format_timestamp(951782400000000) == "2000-02-29T00:00:00.000000Z");
  constexpr std::int64_t kMin = -62167219200LL * 1000000, kMax = 253402300799LL * 1000000 + 999999;
  CHECK(record::format_timestamp(kMin) == "0000-01-01T00:00:00.000000Z");
  CHECK(record::format_timestamp(kMax) == "9999-12-31T23:59:59.999999Z");
  // Out of range: clamped.
  CHECK(record::format_timestamp(kMin - 1) == "0000-01-01T00:00:00.000000Z");
  CHECK(record::format_timestamp(kMax + 1) == "9999-12-31T23:59:59.999999Z");
  CHECK(record::format_timestamp(INT64_MIN) == "0000-01-01T00:00:00.000000Z");
  CHECK(record::format_timestamp(INT64_MAX) == "9999-12-31T23:59:59.999999Z");

  CHECK(parse_ts("1970-01-01T00:00:00.000000Z") == 0);
  CHECK(parse_ts("1969-12-31T23:59:59.999999Z") == -1);
  CHECK(parse_ts("0000-01-01T00:00:00.000000Z") == kMin);
  CHECK(parse_ts("9999-12-31T23:59:59.999999Z") == kMax);
  CHECK(parse_ts("2026-03-25T14:30:45.123456Z") == 1774449045123456);

  std::mt19937_64 rng(42);
  std::uniform_int_distribution<std::int64_t> any(kMin, kMax);
  for (int i = 0; i < 20000; ++i) {
    const std::int64_t us = any(rng);
    const std::string s = record::format_timestamp(us);
    REQUIRE(s.size() == record::kTimestampChars);
    REQUIRE(parse_ts(s) == us);
  }
  // Lexicographic order is chronological order.
  for (int i = 0; i < 2000; ++i) {
    const std::int64_t a = any(rng), b = any(rng);
    REQUIRE((record::format_timestamp(a) < record::format_timestamp(b)) == (a < b));
  }
}

TEST_CASE("record: parse_timestamp accepts real dates and rejects everything else", "[record]") {
  for (const char* ok :
       {"2000-02-29T00:00:00.000000Z", "2024-02-29T23:59:59.999999Z", "2400-02-29T12:00:00.000000Z",
        "2026-01-31T00:00:00.000000Z", "2026-04-30T00:00:00.000000Z", "2026-12-31T23:59:59.000000Z"}) {
    INFO(ok);
    CHECK(parse_ts(ok));
  }
  for (const char* bad : {
           "2100-02-29T00:00:00.000000Z",    // 2100 is not a leap year
           "1900-02-29T00:00:00.000000Z",    // nor is 1900
           "2026-02-29T00:00:00.000000Z",    // nor 2026
           "2026-02-30T00:00:00.000000Z",    //
           "2026-04-31T00:00:00.000000Z",    // April has 30 days
           "2026-13-01T00:00:00.000000Z",    // month 13
           "2026-00-01T00:00:00.000000Z",    // month 0
           "2026-01-00T00:00:00.000000Z",    // day 0
           "2026-01-32T00:00:00.000000Z",    // day 32
           "2026-03-25T24:00:00.000000Z",    // hour 24
           "2026-03-25T23:60:00.000000Z",    // minute 60
           "2026-03-25T23:59:60.000000Z",    // leap second: never written
           "2026-03-25T14:30:45.123456z",    // lowercase z
           "2026-03-25t14:30:45.123456Z",    // lowercase t
           "2026-03-25 14:30:45.123456Z",    // space
           "2026-03-25T14:30:45.12345Z",     // 26 characters
           "2026-03-25T14:30:45.1234567Z",   // 28 characters
           "2026-03-25T14:30:45Z",           // no fraction
           "2026-03-25T14:30:45.123456",     // no Z
           "2026-03-25T14:30:45.123+00:00",  // offset
           "+026-03-25T14:30:45.123456Z",    // sign
           "2026-3-25T14:30:45.1234567Z",    // one-digit month
           "2026/03/25T14:30:45.123456Z",    // wrong separator
           "2026-03-25T14:30:4a.123456Z",    // not a digit
           "2026-03-25T14:30:45.12345aZ",    // not a digit
           "",                               //
       }) {
    INFO(bad);
    CHECK_FALSE(parse_ts(bad));
  }
}

// ---------------------------------------------------------------------------------------------------------
// Hash test vectors (docs/log-format.md §3)

TEST_CASE("record: the genesis hash known answer", "[record]") {
  // SHA-256(0x02 || "fooocus-audit/v1/genesis" || 0x00 || log_id), assembled by hand.
  std::string input;
  input.push_back('\x02');
  input += "fooocus-audit/v1/genesis";
  input.push_back('\0');
  input += kZeroLogId;
  REQUIRE(input.size() == 1 + 24 + 1 + 32);
  const fa::Hash independent = fa::detail::sha256(input);
  CHECK(hex(independent) == kGenesisZeroHex);
  CHECK(record::genesis_hash(kZeroLogId) == independent);
  // The log id is part of the input.
  CHECK(record::genesis_hash("00000000000000000000000000000001") != independent);
}

TEST_CASE("record: the chain hash known answer of a complete example record", "[record]") {
  fa::Hash g{};
  REQUIRE(fa::detail::parse_hash_hex(kGenesisZeroHex, &g));
  std::string built;
  record::append_record(built, R"({"event_type":"generation.completed","request_id":"req_1"})", kZeroLogId, g,
                        0, "2026-03-25T14:30:45.123456Z");
  CHECK(built == kExampleRecord);
  CHECK(built.size() == 235);
  const fa::Hash independent = fa::detail::sha256(std::string(1, '\0') + kExampleRecord);
  CHECK(hex(independent) == kExampleChainHex);
  CHECK(record::chain_hash(kExampleRecord) == independent);
  CHECK(fa::merkle::leaf_hash(kExampleRecord) == independent);

  // It is a valid record 0 of log 000...0, and the verifier agrees on the head and the one-leaf tree.
  const auto s = fa_test::verify_stream(std::string(kExampleRecord) + "\n");
  REQUIRE(s.intact);
  CHECK(hex(*s.head) == kExampleChainHex);
  CHECK(hex(*s.merkle_root) == kExampleChainHex);
}

TEST_CASE("record: the spec's test vectors match docs/log-format.md", "[record]") {
  const std::string doc = fa_test::read_bytes(std::string(FA_SOURCE_DIR) + "/docs/log-format.md");
  CHECK(doc.find(kGenesisZeroHex) != std::string::npos);
  CHECK(doc.find(kExampleRecord) != std::string::npos);
  CHECK(doc.find(kExampleChainHex) != std::string::npos);
}

// ---------------------------------------------------------------------------------------------------------
// record::parse

TEST_CASE("record: parse accepts what append_record produces", "[record]") {
  const std::string log_id = record::new_log_id();
  REQUIRE(record::valid_log_id(log_id));
  const fa::Hash prev = fa::detail::sha256("previous");
  const std::vector<std::string> events = {
      R"({"event_type":"a"})",
      R"({"a":{"event_type":"fake"},"b":[1,{"c":"}\"]"}],"event_type":"real.one","z":null})",
      R"({"big":9007199254740991,"event_type":"x","n":-1.5e-7,"unicode":"日本語 🎨 \u001f\n"})",
      R"({"":"","event_type":"session.started"})",
  };
  for (const std::uint64_t seq : {std::uint64_t{0}, std::uint64_t{1}, std::uint64_t{42},
                                  static_cast<std::uint64_t>(record::kMaxSafeInteger)}) {
    for (const std::string& ev : events) {
      INFO(ev << " seq " << seq);
      REQUIRE(fooocus_audit::jcs::scan_object(ev, nullptr, 0));  // the event itself is canonical
      std::string line;
      record::append_record(line, ev, log_id, prev, seq, "2026-03-25T14:30:45.123456Z");
      record::View v;
      const record::ParseResult r = record::parse(line, &v);
      INFO(r.detail);
      REQUIRE(r);
      CHECK(v.version == 1);
      CHECK(v.log_id == log_id);
      CHECK(v.seq == seq);
      CHECK(v.ts == "2026-03-25T14:30:45.123456Z");
      CHECK(v.ts_micros == 1774449045123456);
      CHECK(v.prev == prev);
      CHECK(v.event == ev);
      CHECK_FALSE(v.has_mac);
      CHECK(v.event_type == nlohmann::json::parse(ev)["event_type"].get<std::string>());
    }
  }
  SECTION("with a mac member") {
    Parts p;
    p.mac = R"({"epoch":3,"tag":")" + std::string(64, 'c') + R"("})";
    record::View v;
    REQUIRE(record::parse(p.text(), &v));
    CHECK(v.has_mac);
  }
}

TEST_CASE("record: parse rejects missing, extra and mistyped members", "[record]") {
  REQUIRE(parse_error(Parts{}.text()) == ParseError::none);

  SECTION("missing members") {
    for (std::string Parts::*m :
         {&Parts::event, &Parts::log_id, &Parts::prev, &Parts::seq, &Parts::ts, &Parts::v}) {
      Parts p;
      p.*m = "";
      INFO(p.text());
      CHECK(parse_error(p.text()) == ParseError::bad_record);
    }
    CHECK(parse_error("{}") == ParseError::bad_record);
  }
  SECTION("extra members") {
    Parts p;
    p.extra_key = "w";
    p.extra = "1";
    CHECK(parse_error(p.text()) == ParseError::bad_record);
    // Many extra members (more than the parser keeps in its fixed table).
    std::string many = Parts{}.text();
    many.pop_back();
    for (char c = 'w'; c <= 'z'; ++c) many += std::string(",\"") + c + "\":0";
    CHECK(parse_error(many + "}") == ParseError::bad_record);
    // An extra member that sorts first.
    CHECK(parse_error("{\"a\":0," + Parts{}.text().substr(1)) == ParseError::bad_record);
  }
  SECTION("wrong types") {
    auto with = [](std::string Parts::*m, std::string val) {
      Parts p;
      p.*m = std::move(val);
      return parse_error(p.text());
    };
    CHECK(with(&Parts::v, R"("1")") == ParseError::bad_record);
    CHECK(with(&Parts::v, "1.5") == ParseError::bad_record);
    CHECK(with(&Parts::v, "true") == ParseError::bad_record);
    CHECK(with(&Parts::log_id, "0") == ParseError::bad_record);
    CHECK(with(&Parts::log_id, "null") == ParseError::bad_record);
    CHECK(with(&Parts::seq, R"("0")") == ParseError::bad_record);
    CHECK(with(&Parts::seq, "0.5") == ParseError::bad_record);
    CHECK(with(&Parts::seq, "[0]") == ParseError::bad_record);
    CHECK(with(&Parts::ts, "1774449045123456") == ParseError::bad_record);
    CHECK(with(&Parts::prev, "0") == ParseError::bad_record);
    CHECK(with(&Parts::event, R"("generation.completed")") == ParseError::bad_record);
    CHECK(with(&Parts::event, R"([{"event_type":"a"}])") == ParseError::bad_record);
    CHECK(with(&Parts::event, "{}") == ParseError::bad_record);
    CHECK(with(&Parts::event, R"({"event_type":1})") == ParseError::bad_record);
    CHECK(with(&Parts::event, R"({"event_type":"Bad"})") == ParseError::bad_record);
    CHECK(with(&Parts::event, R"({"event_type":""})") == ParseError::bad_record);
    CHECK(with(&Parts::event, R"({"event_typ":"a"})") == ParseError::bad_record);
    CHECK(with(&Parts::event, R"({"event_type":"a\n"})") == ParseError::bad_record);
    CHECK(with(&Parts::mac, R"("tag")") == ParseError::bad_record);
  }
  SECTION("hex and ids") {
    auto with = [](std::string Parts::*m, std::string val) {
      Parts p;
      p.*m = std::move(val);
      return parse_error(p.text());
    };
    CHECK(with(&Parts::prev, R"(")" + std::string(63, 'a') + R"(")") == ParseError::bad_record);
    CHECK(with(&Parts::prev, R"(")" + std::string(65, 'a') + R"(")") == ParseError::bad_record);
    CHECK(with(&Parts::prev, R"(")" + std::string(64, 'A') + R"(")") == ParseError::bad_record);
    CHECK(with(&Parts::prev, R"(")" + std::string(63, 'a') + R"(g")") == ParseError::bad_record);
    CHECK(with(&Parts::prev, R"(")" + std::string(64, 'f') + R"(")") == ParseError::none);
    CHECK(with(&Parts::log_id, R"(")" + std::string(31, '0') + R"(")") == ParseError::bad_record);
    CHECK(with(&Parts::log_id, R"(")" + std::string(33, '0') + R"(")") == ParseError::bad_record);
    CHECK(with(&Parts::log_id, R"(")" + std::string(32, 'F') + R"(")") == ParseError::bad_record);
    CHECK(with(&Parts::log_id, R"(")" + std::string(32, 'f') + R"(")") == ParseError::none);
  }
  SECTION("seq") {
    auto with = [](std::string val) {
      Parts p;
      p.seq = std::move(val);
      return parse_error(p.text());
    };
    CHECK(with("9007199254740991") == ParseError::none);
    CHECK(with("01") == ParseError::bad_json);  // not JSON
    CHECK(with("00") == ParseError::bad_json);
    CHECK(with("-1") == ParseError::bad_record);  // JSON, canonical, but negative
    CHECK(with("-0") == ParseError::non_canonical);
    CHECK(with("1e3") == ParseError::non_canonical);
    CHECK(with("1E3") == ParseError::non_canonical);
    CHECK(with("9007199254740992") == ParseError::bad_json);  // beyond I-JSON
  }
  SECTION("ts") {
    for (const char* ts : {"2026-02-29T00:00:00.000000Z", "2026-03-25T14:30:45.123456",
                           "2026-03-25T14:30:45Z", "2026-03-25T14:30:45.123456z", "x"}) {
      Parts p;
      p.ts = std::string("\"") + ts + "\"";
      INFO(ts);
      CHECK(parse_error(p.text()) == ParseError::bad_record);
    }
  }
  SECTION("versions") {
    Parts p;
    p.v = "2";
    CHECK(parse_error(p.text()) == ParseError::unknown_version);
    p.v = "0";
    CHECK(parse_error(p.text()) == ParseError::unknown_version);
    // A version-2 record may have other members: the version is reported, not the member.
    p.v = "2";
    p.extra_key = "w";
    p.extra = "1";
    CHECK(parse_error(p.text()) == ParseError::unknown_version);
  }
}

TEST_CASE("record: parse tells bad JSON from valid but non-canonical JSON", "[record]") {
  const std::string good = Parts{}.text();
  SECTION("bad_json") {
    for (const std::string& bad : {std::string(""), std::string("x"), std::string("[]"), std::string("\"s\""),
                                   std::string("42"), good.substr(0, good.size() - 1), good + "x", good + "}",
                                   good + "{}", "\xEF\xBB\xBF" + good, std::string("{\"a\":1,}")}) {
      INFO(bad);
      CHECK(parse_error(bad) == ParseError::bad_json);
    }
    // Duplicate member names: not I-JSON, no canonical form.
    CHECK(parse_error(R"({"v":1,"v":1})") == ParseError::bad_json);
  }
  SECTION("non_canonical") {
    for (const std::string& nc : {" " + good, good + " ", good + "\r", good + "\t",
                                  fa_test::replace_once(good, "\"seq\":", "\"seq\": "),
                                  fa_test::replace_once(good, ",\"log_id\"", " ,\"log_id\""),
                                  fa_test::replace_once(good, "req_1", "req\\u005f1"),
                                  fa_test::replace_once(good, "req_1", "req\\/1"),
                                  "{\"v\":1," + fa_test::replace_once(good, ",\"v\":1}", "}").substr(1)}) {
      INFO(nc);
      CHECK(parse_error(nc) == ParseError::non_canonical);
    }
  }
}

TEST_CASE("record: valid_event_type and valid_log_id", "[record]") {
  for (const std::string ok :
       {"a", "z", "generation.completed", "a-b_c.9", "log.opened", "a0", "image_generation"}) {
    INFO(ok);
    CHECK(record::valid_event_type(ok));
  }
  CHECK(record::valid_event_type("a" + std::string(127, 'b')));
  CHECK_FALSE(record::valid_event_type("a" + std::string(128, 'b')));
  for (const std::string& bad :
       std::vector<std::string>{"", "9abc", "_a", ".a", "-a", "Abc", "aBc", "a b", "a/b", "a:b",
                                "\xC3\xA9t\xC3\xA9", std::string("a\0b", 3), "a\n"}) {
    INFO(bad);
    CHECK_FALSE(record::valid_event_type(bad));
  }
  CHECK(record::valid_log_id(std::string(32, '0')));
  CHECK(record::valid_log_id("9f0c2d6a51e84b3f8a7d1c0b2e3f4a5b"));
  CHECK_FALSE(record::valid_log_id(std::string(31, '0')));
  CHECK_FALSE(record::valid_log_id(std::string(33, '0')));
  CHECK_FALSE(record::valid_log_id("9F0C2D6A51E84B3F8A7D1C0B2E3F4A5B"));
  CHECK_FALSE(record::valid_log_id("9f0c2d6a51e84b3f8a7d1c0b2e3f4a5g"));
  CHECK(record::new_log_id() != record::new_log_id());
}

// ---------------------------------------------------------------------------------------------------------
// GenerationEvent

TEST_CASE("record: GenerationEvent::append_canonical equals jcs::serialize(to_json())", "[record]") {
  const fa::GenerationEvent e = seed_article_event();
  const std::string fast = canonical(e);
  CHECK(fast == fa::jcs::serialize(e.to_json()));
  REQUIRE(fa::jcs::scan_object(fast, nullptr, 0));
  const json j = json::parse(fast);
  CHECK(j["request_id"] == "req_764cabcf-b745-4b3e-ae38-1200304cf45b");
  CHECK(j["request"]["seed"] == 176400);
  CHECK(j["request"]["styles"] == json::array({"Fooocus Enhance", "Fooocus Sharp"}));
  CHECK(j["request"]["loras"][0]["weight"] == 0.8);
  CHECK(j["outputs"][0]["file_size_bytes"] == 524288);
  CHECK(fast.find(R"("guidance_scale":4,)") != std::string::npos);
  CHECK(fast.find(R"("sharpness":2,)") != std::string::npos);
}

TEST_CASE("record: GenerationEvent edge values serialize canonically", "[record]") {
  fa::GenerationEvent e = seed_article_event();
  SECTION("seed 2^53-1 is a number") {
    e.request.seed = (std::uint64_t{1} << 53) - 1;
    CHECK(canonical(e).find(R"("seed":9007199254740991,)") != std::string::npos);
  }
  SECTION("seed 2^53 is a string") {
    e.request.seed = std::uint64_t{1} << 53;
    CHECK(canonical(e).find(R"("seed":"9007199254740992",)") != std::string::npos);
  }
  SECTION("seed 2^64-1 is a string") {
    e.request.seed = UINT64_MAX;
    CHECK(canonical(e).find(R"("seed":"18446744073709551615",)") != std::string::npos);
  }
  SECTION("unicode and control characters") {
    e.request.prompt_sanitized = "日本語の時計 🎨 \"quoted\" back\\slash\n\t\x01 \x7f \xE2\x80\xA8";
    e.user_id = "zoë@exämple.com";
    e.request.styles = {"Fooocus V2", "スタイル", ""};
    e.request.loras = {{"a", 0.1}, {"b", -1.5}, {"c", 1e-7}, {"d", 1e21}};
  }
  SECTION("empty vectors and empty strings") {
    e.request.loras.clear();
    e.request.styles.clear();
    e.outputs.clear();
    e.session_id.clear();
    CHECK(canonical(e).find(R"("loras":[])") != std::string::npos);
    CHECK(canonical(e).find(R"("outputs":[])") != std::string::npos);
  }
  SECTION("several outputs and loras") {
    e.outputs.push_back(e.outputs.front());
    e.outputs.push_back(e.outputs.front());
    e.request.loras.push_back({"second", 0.25});
    e.request.styles.push_back("Fooocus Masterpiece");
  }
  const std::string fast = canonical(e);
  CHECK(fast == fa::jcs::serialize(e.to_json()));
  CHECK(fa::jcs::scan_object(fast, nullptr, 0));
}

TEST_CASE("record: a GenerationEvent logged by the writer produces a valid record", "[record]") {
  fa_test::TempDir tmp;
  fa::LoggerOptions opt;
  opt.dir = tmp / "log";
  opt.durability = fa::Durability::none;
  auto lg = fa::AuditLogger::open(opt);
  REQUIRE(lg);
  REQUIRE((*lg)->log(seed_article_event()));
  REQUIRE((*lg)->close());
  const auto s = fa_test::verify_path(opt.dir);
  INFO(fa_test::describe(s));
  CHECK(s.intact);
  CHECK(s.records == 2);
}

// Found by fuzz/fuzz_record (corpus: repro_non_canonical_not_json): the scanner stops at its first problem,
// so a non-canonical detail early in a line that is not JSON at all must still come out as bad_json.
TEST_CASE("record: non_canonical only for text that is JSON, bad_json otherwise", "[record]") {
  record::View v;
  CHECK(record::parse(std::string("{\"\x01", 3), &v).error == ParseError::bad_json);
  CHECK(record::parse(R"({"b":0,"a":0)", &v).error == ParseError::bad_json);
  CHECK(record::parse(R"({"a":1.0)", &v).error == ParseError::bad_json);
  CHECK(record::parse(R"({"b":0,"a":0}}}})", &v).error == ParseError::bad_json);
  CHECK(record::parse(R"({"b":0,"a":0})", &v).error == ParseError::non_canonical);
  CHECK(record::parse(R"({"a":1.0})", &v).error == ParseError::non_canonical);
}

TEST_CASE("record: hash_file gives sha256:<hex> of a file's bytes, in chunks", "[record]") {
  fa_test::TempDir tmp;
  const std::string small = tmp / "abc.png", big = tmp / "big.png";
  fa_test::write_bytes(small, "abc");
  CHECK(fa::hash_file(small).value() == "sha256:ba7816bf8f01cfea414140de5dae2223b00361a396177a9cb410ff61f20015ad");
  std::string bytes(3u << 20, '\0');  // spans several read chunks
  for (std::size_t i = 0; i < bytes.size(); ++i) bytes[i] = static_cast<char>(i * 131 % 251);
  fa_test::write_bytes(big, bytes);
  CHECK(fa::hash_file(big).value() == "sha256:" + fa::detail::to_hex(fa::detail::sha256(bytes)));
  const auto missing = fa::hash_file(tmp / "missing.png");
  REQUIRE_FALSE(missing.ok());
  CHECK(missing.status().code() == fa::Code::not_found);
}

// The writer hashes a record's head on the caller's thread and its tail on the writer (record.hpp): the two
// halves must be exactly append_record, and a hash resumed after the head must equal the chain hash.
TEST_CASE("record: head + tail is append_record, and a hash resumed after the head is the chain hash", "[record]") {
  const std::string event = "{\"event_type\":\"generation.completed\",\"prompt\":\"caf\xc3\xa9 \xe2\x98\x83\"}";
  fa::Hash prev{};
  prev[0] = 0xab;
  std::string whole;
  record::append_record(whole, event, kZeroLogId, prev, 42, "2026-03-25T14:30:45.123456Z");
  std::string split(record::kRecordHeadOpen);
  split += event;
  record::append_record_head_close(split, kZeroLogId);
  const std::size_t head = split.size();
  record::append_record_tail(split, prev, 42, "2026-03-25T14:30:45.123456Z");
  CHECK(split == whole);
  fa::detail::Sha256 h;
  const std::uint8_t leaf = 0;
  h.update(&leaf, 1);
  h.update(std::string_view(split).substr(0, head));
  fa::detail::Sha256 moved = std::move(h);  // the running digest travels through the queue
  moved.update(std::string_view(split).substr(head));
  CHECK(moved.final() == record::chain_hash(whole));
  record::View v;
  CHECK(record::parse(whole, &v));
}
