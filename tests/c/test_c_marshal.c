/* SPDX-License-Identifier: Apache-2.0 */
/* fa_logger_log_marshal and fa_event_marshal_to_json: Python marshal data (version 4) written by hand, every
 * refusal with its status and message, every prefix of a valid event refused without a crash, and a logger that
 * stays usable and verifiable after all of them. */
#include "c_test_support.h"

#include <math.h>

/* A growing byte buffer for marshal data. */
typedef struct {
  unsigned char data[4096];
  size_t len;
} buf_t;

static void put(buf_t* b, const void* p, size_t n) {
  if (b->len + n > sizeof b->data) abort();
  memcpy(b->data + b->len, p, n);
  b->len += n;
}
static void put_byte(buf_t* b, unsigned c) {
  unsigned char x = (unsigned char)c;
  put(b, &x, 1);
}
static void put_i32(buf_t* b, int32_t v) {
  uint32_t u = (uint32_t)v;
  unsigned char x[4];
  x[0] = (unsigned char)(u & 0xFF);
  x[1] = (unsigned char)((u >> 8) & 0xFF);
  x[2] = (unsigned char)((u >> 16) & 0xFF);
  x[3] = (unsigned char)((u >> 24) & 0xFF);
  put(b, x, 4);
}
/* A short ASCII str ('z'), optionally flagged for back references. */
static void put_short(buf_t* b, const char* s, int flag) {
  put_byte(b, flag ? ('z' | 0x80) : 'z');
  put_byte(b, (unsigned)strlen(s));
  put(b, s, strlen(s));
}
/* A str of UTF-8 bytes ('u'). */
static void put_unicode(buf_t* b, const char* s, size_t n) {
  put_byte(b, 'u');
  put_i32(b, (int32_t)n);
  put(b, s, n);
}
static void put_int(buf_t* b, int32_t v) {
  put_byte(b, 'i');
  put_i32(b, v);
}
static void put_double(buf_t* b, double d) {
  uint64_t u;
  int k;
  memcpy(&u, &d, sizeof u);
  put_byte(b, 'g');
  for (k = 0; k < 8; ++k) put_byte(b, (unsigned)((u >> (8 * k)) & 0xFF));
}
/* {"event_type": "c_test.marshal", <rest...> : the caller adds members and the closing '0'. */
static void begin_event(buf_t* b) {
  b->len = 0;
  put_byte(b, '{');
  put_short(b, "event_type", 0);
  put_short(b, "c_test.marshal", 0);
}
static void end_dict(buf_t* b) { put_byte(b, '0'); }

static char* to_json(const buf_t* b) {
  char* out = NULL;
  size_t len = 0;
  if (fa_event_marshal_to_json(b->data, b->len, &out, &len) != FA_OK) return NULL;
  return out;
}

static void test_accepted(fa_logger* l) {
  buf_t b;
  char* out;
  static const unsigned char long_2_40[] = {'l', 3, 0, 0, 0, 0, 0, 0, 0, 0x00, 0x04}; /* 2^40: digits 0, 0, 1024 */
  static const unsigned char long_neg_2_70[] = {'l', 0xFB, 0xFF, 0xFF, 0xFF, 0, 0, 0, 0, 0, 0, 0, 0, 0x00, 0x04};

  begin_event(&b);
  put_short(&b, "n", 0);
  put_int(&b, 1);
  end_dict(&b);
  CHECK_OK(fa_logger_log_marshal(l, b.data, b.len));
  out = to_json(&b);
  CHECK(out != NULL && strcmp(out, "{\"event_type\":\"c_test.marshal\",\"n\":1}") == 0);
  fa_free(out);

  /* Every accepted type, back references to a str (as value and as key) and to a list. */
  begin_event(&b);
  put_short(&b, "s", 1); /* ref 0: "s" */
  put_unicode(&b, "caf\xc3\xa9 \xe2\x9c\x93", 9);
  put_short(&b, "l", 0);
  put_byte(&b, '[' | 0x80); /* ref 1: the list */
  put_i32(&b, 5);
  put_byte(&b, 'N');
  put_byte(&b, 'T');
  put_byte(&b, 'F');
  put_double(&b, 0.5);
  put_int(&b, -7);
  put_short(&b, "t", 0);
  put_byte(&b, ')');
  put_byte(&b, 2);
  put(&b, long_2_40, sizeof long_2_40);
  put(&b, long_neg_2_70, sizeof long_neg_2_70);
  put_short(&b, "again", 0);
  put_byte(&b, 'r');
  put_i32(&b, 1); /* the list again */
  put_byte(&b, 'r');
  put_i32(&b, 0); /* "s" as a key */
  put_byte(&b, 'r');
  put_i32(&b, 0); /* ... with "s" as its value */
  end_dict(&b);
  /* "s" is the key of two members: refused as a duplicate. */
  CHECK_STATUS(fa_logger_log_marshal(l, b.data, b.len), FA_INVALID_ARGUMENT);
  CHECK_ERROR_HAS("duplicate member \"s\"");
  b.len -= 1 + 5 + 5; /* drop the last member and the end */
  end_dict(&b);
  CHECK_OK(fa_logger_log_marshal(l, b.data, b.len));
  out = to_json(&b);
  CHECK(out != NULL &&
        strcmp(out, "{\"again\":[null,true,false,0.5,-7],\"event_type\":\"c_test.marshal\",\"l\":[null,true,false,"
                    "0.5,-7],\"s\":\"caf\xc3\xa9 \xe2\x9c\x93\",\"t\":[1099511627776,-1.1805916207174113e+21]}") == 0);
  if (out != NULL && strstr(out, "again") == NULL) fprintf(stderr, "decoded: %s\n", out);
  fa_free(out);
}

static void test_refused(fa_logger* l) {
  buf_t b, good;
  size_t cut;
  int i;
  char* out = (char*)0x1;
  size_t out_len = 7;
  unsigned char* huge;

#define REFUSED(code, needle)                                         \
  do {                                                                \
    CHECK_STATUS(fa_logger_log_marshal(l, b.data, b.len), code);      \
    CHECK_ERROR_HAS(needle);                                          \
  } while (0)

  CHECK_STATUS(fa_logger_log_marshal(NULL, "{0", 2), FA_INVALID_HANDLE);
  CHECK_STATUS(fa_logger_log_marshal(l, NULL, 3), FA_INVALID_ARGUMENT);
  CHECK_ERROR_HAS("NULL pointer with length 3");
  CHECK_STATUS(fa_logger_log_marshal(l, NULL, 0), FA_INVALID_ARGUMENT);
  CHECK_ERROR_HAS("empty");
  CHECK_STATUS(fa_event_marshal_to_json(NULL, 0, &out, &out_len), FA_INVALID_ARGUMENT);
  CHECK(out == NULL && out_len == 0);

  b.len = 0;
  put_byte(&b, '[');
  put_i32(&b, 0);
  REFUSED(FA_INVALID_ARGUMENT, "must be a dict (a JSON object), not a list");
  b.len = 0;
  put_short(&b, "x", 0);
  REFUSED(FA_INVALID_ARGUMENT, "not a str");

  /* A valid event; every strict prefix of it is truncated data, and one more byte is trailing data. */
  begin_event(&good);
  put_short(&good, "n", 1);
  put_unicode(&good, "\xc3\xa9", 2);
  put_short(&good, "m", 0);
  put_byte(&good, 'r');
  put_i32(&good, 0);
  end_dict(&good);
  CHECK_OK(fa_logger_log_marshal(l, good.data, good.len));
  for (cut = 0; cut < good.len; ++cut) CHECK(fa_logger_log_marshal(l, good.data, cut) == FA_INVALID_ARGUMENT);
  b = good;
  put_byte(&b, '0');
  REFUSED(FA_INVALID_ARGUMENT, "1 trailing byte(s) after the dict");

#define MEMBER(tag, ...)      \
  do {                        \
    begin_event(&b);          \
    put_short(&b, tag, 0);    \
    __VA_ARGS__;              \
    end_dict(&b);             \
  } while (0)

  MEMBER("b", put_byte(&b, 's'); put_i32(&b, 1); put_byte(&b, 'x'));
  REFUSED(FA_INVALID_ARGUMENT, "bytes (not JSON) is not accepted");
  MEMBER("set", put_byte(&b, '<'); put_i32(&b, 0));
  REFUSED(FA_INVALID_ARGUMENT, "a set (not JSON)");
  MEMBER("c", put_byte(&b, 'y'); put_i32(&b, 0); put_i32(&b, 0); put_i32(&b, 0); put_i32(&b, 0));
  REFUSED(FA_INVALID_ARGUMENT, "complex");
  MEMBER("x", put_byte(&b, 0x01));
  REFUSED(FA_INVALID_ARGUMENT, "unknown type code 0x01");
  MEMBER("nan", put_double(&b, (double)NAN));
  REFUSED(FA_INVALID_ARGUMENT, "NaN or infinite");
  MEMBER("inf", put_double(&b, (double)INFINITY));
  REFUSED(FA_INVALID_ARGUMENT, "NaN or infinite");
  MEMBER("utf8", put_unicode(&b, "\xed\xa0\x80", 3)); /* a surrogate, as surrogatepass writes it */
  REFUSED(FA_INVALID_ARGUMENT, "invalid UTF-8");
  MEMBER("ascii", put_byte(&b, 'a'); put_i32(&b, 1); put_byte(&b, 0xE9));
  REFUSED(FA_INVALID_ARGUMENT, "above 0x7F");
  MEMBER("neg", put_byte(&b, '['); put_i32(&b, -1));
  REFUSED(FA_INVALID_ARGUMENT, "negative size");
  MEMBER("count", put_byte(&b, '['); put_i32(&b, 1000000));
  REFUSED(FA_INVALID_ARGUMENT, "truncated");
  MEMBER("ref", put_byte(&b, 'r'); put_i32(&b, 5));
  REFUSED(FA_INVALID_ARGUMENT, "not read yet");
  MEMBER("cycle", put_byte(&b, '[' | 0x80); put_i32(&b, 1); put_byte(&b, 'r'); put_i32(&b, 0));
  REFUSED(FA_INVALID_ARGUMENT, "a cycle");
  MEMBER("flag", put_byte(&b, 'N' | 0x80));
  REFUSED(FA_INVALID_ARGUMENT, "reference flag");
  MEMBER("unnormalized", put_byte(&b, 'l'); put_i32(&b, 2); put_byte(&b, 1); put_byte(&b, 0); put_byte(&b, 0);
         put_byte(&b, 0));
  REFUSED(FA_INVALID_ARGUMENT, "not normalized");
  MEMBER("digit", put_byte(&b, 'l'); put_i32(&b, 1); put_byte(&b, 0xFF); put_byte(&b, 0xFF));
  REFUSED(FA_INVALID_ARGUMENT, "digit out of range");
  MEMBER("huge", put_byte(&b, 'l'); put_i32(&b, 70); for (i = 0; i < 70; ++i) { put_byte(&b, 1); put_byte(&b, 0); });
  REFUSED(FA_INVALID_ARGUMENT, "out of the range of a double");
  MEMBER("key", put_byte(&b, '{'); put_int(&b, 1); put_int(&b, 2); end_dict(&b));
  REFUSED(FA_INVALID_ARGUMENT, "a dict key that is not a str");
  MEMBER("null", put_byte(&b, '0'));
  REFUSED(FA_INVALID_ARGUMENT, "unknown type code 0x30");

  /* 65 levels of nesting (the event is level 1). */
  begin_event(&b);
  put_short(&b, "deep", 0);
  for (i = 0; i < 64; ++i) {
    put_byte(&b, '[');
    put_i32(&b, 1);
  }
  put_byte(&b, 'N');
  end_dict(&b);
  REFUSED(FA_INVALID_ARGUMENT, "nested deeper than 64 levels");
  /* ... also through a back reference: a flagged list of 32 levels, then the list under 33 more. */
  begin_event(&b);
  put_short(&b, "a", 0);
  put_byte(&b, '[' | 0x80);
  put_i32(&b, 1);
  for (i = 0; i < 31; ++i) {
    put_byte(&b, '[');
    put_i32(&b, 1);
  }
  put_byte(&b, 'N');
  put_short(&b, "b", 0);
  for (i = 0; i < 32; ++i) {
    put_byte(&b, '[');
    put_i32(&b, 1);
  }
  put_byte(&b, 'r');
  put_i32(&b, 0);
  end_dict(&b);
  REFUSED(FA_INVALID_ARGUMENT, "nested deeper than 64 levels");

  /* References multiply: 20 uses of a 1 MiB string are more than 16 MiB of strings. */
  huge = (unsigned char*)malloc((size_t)FA_MAX_JSON_BYTES + 1);
  if (huge == NULL) abort();
  {
    size_t n = 0, k;
    const size_t big = (size_t)1 << 20;
    huge[n++] = '{';
    huge[n++] = 'z';
    huge[n++] = 1;
    huge[n++] = 'k';
    huge[n++] = 'a' | 0x80;
    huge[n++] = 0;
    huge[n++] = 0;
    huge[n++] = 0x10;
    huge[n++] = 0; /* 1 MiB */
    memset(huge + n, 'x', big);
    n += big;
    huge[n++] = 'z';
    huge[n++] = 1;
    huge[n++] = 'l';
    huge[n++] = '[';
    huge[n++] = 20;
    huge[n++] = 0;
    huge[n++] = 0;
    huge[n++] = 0;
    for (k = 0; k < 20; ++k) {
      huge[n++] = 'r';
      huge[n++] = 0;
      huge[n++] = 0;
      huge[n++] = 0;
      huge[n++] = 0;
    }
    huge[n++] = '0';
    CHECK_STATUS(fa_logger_log_marshal(l, huge, n), FA_TOO_LARGE);
    CHECK_ERROR_HAS("bytes of strings");
    /* More than FA_MAX_JSON_BYTES of data, whatever it holds. */
    CHECK_STATUS(fa_logger_log_marshal(l, huge, (size_t)FA_MAX_JSON_BYTES + 1), FA_TOO_LARGE);
    CHECK_ERROR_HAS("more than the limit");
  }
  free(huge);

  /* A doubling chain of references (each list holds the previous one twice): 300 bytes for millions of values. */
  begin_event(&b);
  for (i = 0; i < 24; ++i) {
    char name[8];
    snprintf(name, sizeof name, "a%d", i);
    put_short(&b, name, 0);
    put_byte(&b, '[' | 0x80); /* ref i */
    put_i32(&b, 2);
    if (i == 0) {
      put_byte(&b, 'N');
      put_byte(&b, 'N');
    } else {
      put_byte(&b, 'r');
      put_i32(&b, i - 1);
      put_byte(&b, 'r');
      put_i32(&b, i - 1);
    }
  }
  end_dict(&b);
  REFUSED(FA_TOO_LARGE, "references repeat more than 1048576 values");

  /* Decoded, then refused by the schema exactly as the JSON form is. */
  b.len = 0;
  put_byte(&b, '{');
  put_short(&b, "n", 0);
  put_int(&b, 1);
  end_dict(&b);
  REFUSED(FA_INVALID_ARGUMENT, "event_type: missing or not a string");
  CHECK_STATUS(fa_logger_log(l, "{\"n\":1}", 7), FA_INVALID_ARGUMENT);
  CHECK_ERROR_HAS("event_type: missing or not a string");
#undef MEMBER
#undef REFUSED
}

int main(void) {
  char* root = fa_test_temp_dir("marshal");
  char dir[4096];
  char cfg[4300];
  fa_logger* l = NULL;
  char* out;
  buf_t b;

  snprintf(dir, sizeof dir, "%s/log", root);
  snprintf(cfg, sizeof cfg, "{\"dir\":\"%s\",\"durability\":\"none\"}", dir);
  CHECK(fa_abi_version() >= 2);
  CHECK_OK(fa_logger_open(cfg, strlen(cfg), &l));
  if (l != NULL) {
    test_accepted(l);
    test_refused(l);
    CHECK_OK(fa_logger_flush(l));
    {
      char* stats = NULL;
      size_t len = 0;
      CHECK_OK(fa_logger_stats(l, &stats, &len));
      CHECK(stats != NULL && fa_test_json_u64(stats, "accepted", 0) == 3);
      fa_free(stats);
    }
    CHECK_OK(fa_logger_close(l));
    begin_event(&b);
    end_dict(&b);
    CHECK_STATUS(fa_logger_log_marshal(l, b.data, b.len), FA_CLOSED);
    fa_logger_destroy(l);
    CHECK_STATUS(fa_logger_log_marshal(l, b.data, b.len), FA_INVALID_HANDLE);
    out = fa_test_verify(dir, NULL);
    CHECK(out != NULL && fa_test_json_bool(out, "intact") == 1);
    fa_free(out);
  }
  fa_test_rm_tree(root);
  free(root);
  return fa_test_finish("test_c_marshal");
}
