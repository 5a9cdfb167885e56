#include "hd/app/attribution.h"

#include <algorithm>
#include <cctype>
#include <cmath>

namespace hd {
namespace {

std::string trim(const std::string& s) {
  std::size_t a = 0, b = s.size();
  while (a < b && std::isspace(static_cast<unsigned char>(s[a]))) ++a;
  while (b > a && std::isspace(static_cast<unsigned char>(s[b - 1]))) --b;
  return s.substr(a, b - a);
}

std::vector<int> markers(const std::string& s) {
  std::vector<int> out;
  for (std::size_t i = 0; i < s.size(); ++i) {
    if (s[i] != '[') continue;
    std::size_t j = i + 1;
    int n = 0;
    while (j < s.size() && std::isdigit(static_cast<unsigned char>(s[j])) && j - i < 5) n = n * 10 + (s[j++] - '0');
    if (j < s.size() && s[j] == ']' && j > i + 1) out.push_back(n);
  }
  return out;
}

float dot(const float* a, const float* b, int n) {
  float s = 0;
  for (int i = 0; i < n; ++i) s += a[i] * b[i];
  return s;
}

}  // namespace

std::vector<std::string> split_sentences(const std::string& text) {
  std::vector<std::string> out;
  std::string cur;
  for (std::size_t i = 0; i < text.size(); ++i) {
    const char c = text[i];
    cur += c;
    const bool end_mark = (c == '.' || c == '!' || c == '?') && (i + 1 == text.size() || std::isspace(static_cast<unsigned char>(text[i + 1])));
    if (end_mark || c == '\n') {
      // "e.g." and decimals stay inside a sentence: a full stop ends one only before a space.
      std::string t = trim(cur);
      if (!t.empty()) out.push_back(t);
      cur.clear();
    }
  }
  if (std::string t = trim(cur); !t.empty()) out.push_back(t);
  return out;
}

std::vector<Citation> attribute(const std::string& answer, const PackedContext& context, const TextEmbedder* embedder,
                                const AttributionOptions& options) {
  const std::vector<std::string> sentences = split_sentences(answer);
  std::vector<Citation> out;
  if (sentences.empty()) return out;
  // Every sentence of every source, with the source it belongs to.
  std::vector<std::string> source_sentences;
  std::vector<int> owner;
  for (const SourcePassage* p : context.all_sources()) {
    for (std::string& s : split_sentences(p->text)) {
      // Headings and fragments ("Sample documents", a title line) match anything that repeats
      // them; a quote worth citing is a sentence.
      const bool ends_like_sentence = !s.empty() && (s.back() == '.' || s.back() == '!' || s.back() == '?');
      const auto words = std::count(s.begin(), s.end(), ' ') + 1;
      if (words < 4 || (!ends_like_sentence && words < 8)) continue;
      source_sentences.push_back(std::move(s));
      owner.push_back(p->number);
    }
  }
  std::vector<float> a, b;
  int dim = 0;
  if (embedder && !source_sentences.empty()) {
    dim = embedder->dimension();
    a = embedder->embed(sentences);          // L2-normalised: the dot product is the cosine
    b = embedder->embed(source_sentences);
  }
  for (std::size_t i = 0; i < sentences.size(); ++i) {
    const std::vector<int> marked = markers(sentences[i]);
    if (dim) {
      // Best match overall, and best match inside each marked source.
      int best = -1;
      float best_cos = -2;
      for (std::size_t j = 0; j < source_sentences.size(); ++j) {
        const float c = dot(&a[i * static_cast<std::size_t>(dim)], &b[j * static_cast<std::size_t>(dim)], dim);
        if (c > best_cos) best_cos = c, best = static_cast<int>(j);
      }
      // Sentences of a few words ("Yes.") say too little to attribute on their own.
      const bool substantive = std::count(sentences[i].begin(), sentences[i].end(), ' ') >= 2;
      if (best >= 0 && substantive && best_cos >= options.threshold) {
        out.push_back({owner[static_cast<std::size_t>(best)], static_cast<int>(i), best_cos,
                       source_sentences[static_cast<std::size_t>(best)], false});
      }
      for (int n : marked) {
        int mbest = -1;
        float mcos = -2;
        for (std::size_t j = 0; j < source_sentences.size(); ++j) {
          if (owner[j] != n) continue;
          const float c = dot(&a[i * static_cast<std::size_t>(dim)], &b[j * static_cast<std::size_t>(dim)], dim);
          if (c > mcos) mcos = c, mbest = static_cast<int>(j);
        }
        if (mbest >= 0 && mcos >= options.marker_threshold) {
          auto same = std::find_if(out.begin(), out.end(), [&](const Citation& c) { return c.source == n && c.answer_sentence == static_cast<int>(i); });
          if (same != out.end()) same->marked = true;
          else out.push_back({n, static_cast<int>(i), mcos, source_sentences[static_cast<std::size_t>(mbest)], true});
        }
      }
    } else {
      for (int n : marked) {
        if (const SourcePassage* p = context.source(n)) {
          out.push_back({n, static_cast<int>(i), 0, split_sentences(p->text).empty() ? p->text : split_sentences(p->text).front(), true});
        }
      }
    }
  }
  return out;
}

std::vector<int> cited_sources(const std::vector<Citation>& citations) {
  std::vector<int> out;
  for (const Citation& c : citations) {
    if (std::find(out.begin(), out.end(), c.source) == out.end()) out.push_back(c.source);
  }
  return out;
}

}  // namespace hd
