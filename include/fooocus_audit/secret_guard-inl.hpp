// SPDX-License-Identifier: Apache-2.0
#pragma once

#ifndef FOOOCUS_AUDIT_HEADER_ONLY
#include "fooocus_audit/secret_guard.hpp"
#endif

#include <algorithm>
#include <string_view>
#include <utility>
#include <vector>

#include "fooocus_audit/detail/secret_detectors.hpp"

namespace fooocus_audit {
namespace guard_impl {

/// Replaces the (merged) spans of `found` in `s`; returns the number of replacements.
inline std::size_t apply(std::string& s, std::vector<detect::Match>& found) {
  if (found.empty()) return 0;
  std::sort(found.begin(), found.end(), [](const detect::Match& a, const detect::Match& b) {
    return a.begin != b.begin ? a.begin < b.begin : a.end > b.end;
  });
  std::string out;
  out.reserve(s.size());
  std::size_t pos = 0, count = 0;
  for (std::size_t i = 0; i < found.size();) {
    std::size_t b = found[i].begin, e = found[i].end;
    detect::Detector label = found[i].detector;
    std::size_t longest = e - b;
    std::size_t j = i + 1;
    for (; j < found.size() && found[j].begin < e; ++j) {
      const std::size_t len = found[j].end - found[j].begin;
      if (len > longest || (len == longest && found[j].detector < label)) {
        longest = len;
        label = found[j].detector;
      }
      e = std::max(e, found[j].end);
    }
    // Equal spans: the specific detector (lower enum value) names it rather than generic_secret.
    for (std::size_t k = i; k < j; ++k)
      if (found[k].end - found[k].begin == longest && found[k].detector < label) label = found[k].detector;
    out.append(s, pos, b - pos);
    out.append("[").append(detect::detector_type(label)).append("_REDACTED]");
    pos = e;
    ++count;
    i = j;
  }
  out.append(s, pos, std::string::npos);
  s.swap(out);
  return count;
}

inline bool may(std::string_view s) noexcept { return detect::may_contain_secret(s); }

inline bool may_member(std::string_view name, const nlohmann::json& value) noexcept {
  return may(name) || (value.is_string() && detect::is_secret_name(name));
}

}  // namespace guard_impl

FA_INLINE std::size_t guard_redact(std::string& s, const GuardOptions& options) {
  const detect::DetectorMask mask = options.detectors & detect::kSecretDetectors;
  if (!options.enabled || mask == 0 || !detect::may_contain_secret(s)) return 0;
  std::vector<detect::Match> found;
  detect::scan_secrets(s, mask, found);
  return guard_impl::apply(s, found);
}

FA_INLINE std::size_t guard_redact(nlohmann::json& event, const GuardOptions& options) {
  const detect::DetectorMask mask = options.detectors & detect::kSecretDetectors;
  if (!options.enabled || mask == 0) return 0;
  std::size_t count = 0;
  std::vector<nlohmann::json*> stack{&event};
  std::vector<detect::Match> found;
  while (!stack.empty()) {
    nlohmann::json* j = stack.back();
    stack.pop_back();
    if (j->is_string()) {
      count += guard_redact(j->get_ref<std::string&>(), options);
    } else if (j->is_array()) {
      for (auto& v : *j)
        if (v.is_structured() || v.is_string()) stack.push_back(&v);
    } else if (j->is_object()) {
      // Member names first (renaming moves the values), then the values.
      std::vector<std::pair<std::string, std::string>> renames;
      for (auto it = j->begin(); it != j->end(); ++it) {
        const std::string& name = it.key();
        if (it->is_string() && detect::is_secret_name(name)) {
          found.clear();
          std::string& v = it->get_ref<std::string&>();
          detect::scan_member_value(name, v, mask, found);
          if (!found.empty()) {
            if (detect::may_contain_secret(v)) detect::scan_secrets(v, mask, found);
            count += guard_impl::apply(v, found);
          }
        }
        if (detect::may_contain_secret(name)) {
          std::string renamed = name;
          if (const std::size_t n = guard_redact(renamed, options); n != 0) {
            count += n;
            renames.emplace_back(name, std::move(renamed));
          }
        }
      }
      for (auto& [from, to] : renames) {
        nlohmann::json value = std::move((*j)[from]);
        j->erase(from);
        std::string name = to;
        for (int k = 2; j->contains(name); ++k) name = to + " #" + std::to_string(k);
        (*j)[name] = std::move(value);
      }
      for (auto& v : j->items())
        if (v.value().is_structured() || v.value().is_string()) stack.push_back(&v.value());
    }
  }
  return count;
}

namespace guard_impl {
template <class Event, class F>
void for_each_string(Event& e, F&& f) {
  f(e.event_type);
  f(e.version);
  f(e.timestamp);
  f(e.request_id);
  f(e.user_id);
  f(e.tenant_id);
  f(e.session_id);
  f(e.ip_address);
  f(e.user_agent);
  f(e.request.prompt_sanitized);
  f(e.request.prompt_hash);
  f(e.request.negative_prompt);
  f(e.request.performance);
  f(e.request.aspect_ratio);
  for (auto& l : e.request.loras) f(l.name);
  for (auto& s : e.request.styles) f(s);
  f(e.processing.worker_id);
  f(e.processing.model_version);
  f(e.processing.refiner_model);
  for (auto& o : e.outputs) {
    f(o.url);
    f(o.hash);
  }
  f(e.safety.safety_checker_version);
  f(e.result);
}
}  // namespace guard_impl

FA_INLINE std::size_t guard_redact(GenerationEvent& event, const GuardOptions& options) {
  if (!options.enabled) return 0;
  std::size_t count = 0;
  guard_impl::for_each_string(event, [&](std::string& s) { count += guard_redact(s, options); });
  return count;
}

FA_INLINE bool guard_may_redact(const nlohmann::json& event, const GuardOptions& options) noexcept {
  if (!options.enabled || (options.detectors & detect::kSecretDetectors) == 0) return false;
  // Iterative walk; a fixed stack for the usual shallow event, a vector only beyond 64 pending values.
  try {
    const nlohmann::json* small[64];
    std::size_t top = 0;
    std::vector<const nlohmann::json*> big;
    auto push = [&](const nlohmann::json* j) {
      if (big.empty() && top < 64) small[top++] = j;
      else big.push_back(j);
    };
    push(&event);
    while (top != 0 || !big.empty()) {
      const nlohmann::json* j;
      if (!big.empty()) {
        j = big.back();
        big.pop_back();
      } else {
        j = small[--top];
      }
      if (j->is_string()) {
        if (guard_impl::may(j->get_ref<const std::string&>())) return true;
      } else if (j->is_array()) {
        for (const auto& v : *j)
          if (v.is_structured() || v.is_string()) push(&v);
      } else if (j->is_object()) {
        for (auto it = j->cbegin(); it != j->cend(); ++it) {
          if (guard_impl::may_member(it.key(), *it)) return true;
          if (it->is_structured() || it->is_string()) push(&*it);
        }
      }
    }
    return false;
  } catch (...) {
    return true;  // out of memory for the walk: let the full guard decide
  }
}

FA_INLINE bool guard_may_redact(const GenerationEvent& event, const GuardOptions& options) noexcept {
  if (!options.enabled || (options.detectors & detect::kSecretDetectors) == 0) return false;
  bool any = false;
  guard_impl::for_each_string(event, [&](const std::string& s) { any = any || guard_impl::may(s); });
  return any;
}

}  // namespace fooocus_audit
