// The ask path end to end with a real model: the labelled questions over samples/ (does the answer
// hold the fact, does the citation name the right document and page) and the time to the first
// token of a first question against follow-ups on a long document (state from the memory tier,
// and from the disk tier after a restart), with re-reading the document each time as the peer.
//
//   bench_answer_quality [--model NAME|DIR] [--models DIR] [--embedder DIR] [--long-tokens 4096]
//                        [--threads N] [--answer-tokens 96] [--device auto|cpu|cuda] [--compare-prompts 1]
//                        [--questions 0] [--summaries 1]
// --compare-prompts 1 also runs the labelled questions with the direct prompt (answer, no quote first);
// the attribution threshold is swept over the quote-first answers. --summaries 1 also summarizes
// the samples named in bench/data/summary_facts.json (the product's summary prompt, medium length)
// and counts the labelled facts each summary keeps; --questions 0 leaves the questions out.
#include <algorithm>
#include <cctype>
#include <filesystem>
#include <fstream>
#include <iostream>

#include <nlohmann/json.hpp>

#include "bench_args.h"
#include "bench_report.h"
#include "hd/app/ask.h"
#include "hd/app/ingest_folder.h"
#include "hd/app/model_registry.h"
#include "hd/app/paths.h"
#include "hd/retrieval/vector_index.h"

namespace fs = std::filesystem;
using namespace hd;

namespace {

std::string normalized(std::string s) {
  std::string out;
  for (char c : s) {
    if (c == ',') continue;  // "131,072" and "131072" are the same fact
    out += static_cast<char>(std::tolower(static_cast<unsigned char>(c)));
  }
  return out;
}

// A long report of numbered sections, each with a fact of its own: the long-document case.
std::string long_report(std::size_t approx_tokens) {
  std::string text = "# Plant maintenance report\n\n";
  for (int i = 1; text.size() / 4 < approx_tokens; ++i) {
    text += "## Section " + std::to_string(i) + "\n\nIn building " + std::to_string(i) + ", the pump was serviced on day " +
            std::to_string((i * 37) % 300 + 1) + " and its pressure read " + std::to_string(2 + (i * 7) % 9) +
            " bar afterwards. The crew noted that valve V" + std::to_string(100 + i) +
            " had been replaced the year before, and that the next inspection is due in " + std::to_string(3 + i % 9) +
            " months.\n\n";
  }
  return text;
}

}  // namespace

int main(int argc, char** argv) {
  const std::string model_arg = bench::arg_text(argc, argv, "--model", "");
  const fs::path models = bench::arg_text(argc, argv, "--models", default_models_dir().string());
  const fs::path embedder_dir = bench::arg_text(argc, argv, "--embedder", (default_models_dir() / "all-minilm-l6-v2").string());
  const int long_tokens = bench::arg_int(argc, argv, "--long-tokens", 4096);
  const int answer_tokens = bench::arg_int(argc, argv, "--answer-tokens", 96);
  const bool compare_prompts = bench::arg_int(argc, argv, "--compare-prompts", 0) != 0;
  const bool questions = bench::arg_int(argc, argv, "--questions", 1) != 0;
  const bool summaries = bench::arg_int(argc, argv, "--summaries", 0) != 0;
  const std::string device_arg = bench::arg_text(argc, argv, "--device", "auto");
  const DevicePreference device = device_arg == "cpu" ? DevicePreference::cpu : device_arg == "cuda" ? DevicePreference::cuda
                                                                                                    : DevicePreference::automatic;
  const fs::path work = fs::temp_directory_path() / ("hd-answer-bench-" + std::to_string(::getpid()));
  fs::remove_all(work);
  fs::create_directories(work);
  fs::copy(fs::path(HD_SOURCE_DIR) / "samples", work / "docs", fs::copy_options::recursive);
  fs::create_directories(work / "long");
  std::ofstream(work / "long" / "maintenance-report.md") << long_report(static_cast<std::size_t>(long_tokens));

  auto model = load_language_model(resolve_model(model_arg.empty() ? std::nullopt : std::optional(model_arg), models),
                                   device, bench::arg_int(argc, argv, "--threads", 0));
  auto embedder = TextEmbedder::open(embedder_dir, EmbedderDevice::cpu);
  auto store = Store::open(work / "store");
  IngestOptions ingest;
  const Tokenizer* tok = model->tokenizer.get();
  ingest.count_tokens = [tok](std::string_view s) { return tok->encode(s, false).size(); };
  ingest.embedder = embedder.get();
  ingest_paths(*store, {work / "docs", work / "long"}, ingest);
  auto index = VectorIndex::open(*store, embedder->model_id(), embedder->dimension());
  auto cache = std::make_unique<PrefillCache>(model->checkpoint->fingerprint(), PrefillCacheOptions{.disk_dir = work / "cache"});
  AnswerResources r{model.get(), cache.get(), store.get(), index.get(), embedder.get(), false};

  bench::BenchReport report("answer_quality-" + model->name);
  report.set("model", model->name);
  report.set("backend", model->backend->name());
  report.set("answer_tokens", answer_tokens);

  // 1. Labelled questions over the samples (the long report is not among their documents), with the
  //    quote-first prompt and, with --compare-prompts, with the direct one.
  std::vector<long long> sample_docs;
  for (const auto& d : store->documents()) {
    if (d.path.find("/docs/") != std::string::npos) sample_docs.push_back(d.id);
  }
  const auto labelled = nlohmann::json::parse(std::ifstream(fs::path(HD_SOURCE_DIR) / "tests/app/data/retrieval_questions.json"));
  struct Answered {
    nlohmann::json q;
    AskResult a;
  };
  // Whether `citations` name the labelled file (and page): the document and page checks.
  auto cites = [](const nlohmann::json& q, const std::vector<Citation>& citations, const PackedContext& context) {
    std::pair<bool, bool> ok{false, !q.contains("page")};
    bool page = false;
    for (int s : cited_sources(citations)) {
      const SourcePassage* p = context.source(s);
      if (!p || p->path.find(q["file"].get<std::string>()) == std::string::npos) continue;
      ok.first = true;
      if (q.contains("page") && p->page_first == q["page"].get<int>() && p->page_last == q["page"].get<int>()) page = true;
    }
    ok.second = ok.first && (ok.second || page);
    return ok;
  };
  auto run_labelled = [&](bool quote_first) {
    std::vector<Answered> out;
    int facts = 0, documents = 0, pages = 0, all_three = 0;
    const std::string prompt = quote_first ? "quote first" : "direct";
    for (const auto& q : labelled["questions"]) {
      AskOptions o;
      o.document_ids = sample_docs;
      o.answer_tokens = answer_tokens;
      o.quote_first = quote_first;
      AskResult a = ask(r, q["q"].get<std::string>(), o);
      const bool fact = normalized(a.answer).find(normalized(q["answer"].get<std::string>())) != std::string::npos;
      const auto [doc_ok, page_ok] = cites(q, a.citations, a.context);
      facts += fact;
      documents += doc_ok;
      pages += page_ok;
      all_three += fact && page_ok;
      std::string answer = a.answer.substr(0, 160);
      std::replace(answer.begin(), answer.end(), '\n', ' ');
      report.add_row({{"prompt", prompt}, {"question", q["q"]}, {"fact_in_answer", fact}, {"cites_right_document", doc_ok},
                      {"right_page", page_ok}, {"cached_tokens", a.cached_tokens}, {"new_tokens", a.new_tokens},
                      {"first_token_s", a.seconds_to_first_token}, {"answer", answer}});
      out.push_back({q, std::move(a)});
    }
    report.set("labelled_questions", out.size());
    report.set(prompt + ": fact_in_answer", facts);
    report.set(prompt + ": cites_right_document", documents);
    report.set(prompt + ": cites_right_document_and_page", pages);
    report.set(prompt + ": all_three", all_three);
    return out;
  };
  const std::vector<Answered> answered = questions ? run_labelled(true) : std::vector<Answered>{};
  if (questions && compare_prompts) run_labelled(false);

  // Summaries of labelled samples: how many of the facts a summary should keep it keeps (the
  // same scoring for every model, so teacher and graft compare side by side).
  if (summaries) {
    const auto facts = nlohmann::json::parse(std::ifstream(fs::path(HD_SOURCE_DIR) / "bench/data/summary_facts.json"));
    int kept = 0, total = 0;
    for (const auto& d : facts["documents"]) {
      const auto id = store->document_by_path((work / "docs" / d["file"].get<std::string>()).string());
      if (!id) throw std::runtime_error("bench_answer_quality: sample " + d["file"].get<std::string>() + " was not ingested");
      const SummaryResult s = summarize(r, *id, SummarizeOptions{});
      const std::string text = normalized(s.summary);
      int found = 0;
      for (const auto& alternatives : d["facts"]) {
        found += std::any_of(alternatives.begin(), alternatives.end(),
                             [&](const auto& a) { return text.find(normalized(a.template get<std::string>())) != std::string::npos; });
      }
      kept += found;
      total += static_cast<int>(d["facts"].size());
      std::string shown = s.summary;
      std::replace(shown.begin(), shown.end(), '\n', ' ');
      report.add_row({{"prompt", "summary"}, {"question", "summarize " + d["file"].get<std::string>()},
                      {"facts_kept", std::to_string(found) + " of " + std::to_string(d["facts"].size())},
                      {"summary_s", s.seconds}, {"answer", shown}});
    }
    report.set("summary: facts_kept", kept);
    report.set("summary: facts", total);
  }

  // The attribution threshold, measured: the same answers attributed at each threshold; a question
  // counts as found when a cited source is in the labelled file, and every cited source that is not
  // is a wrong citation.
  for (const double threshold : questions ? std::vector<double>{0.35, 0.40, 0.45, 0.50, 0.55, 0.60, 0.65, 0.70, 0.75}
                                           : std::vector<double>{}) {
    int found = 0, cited = 0, wrong = 0;
    for (const Answered& x : answered) {
      const auto citations = attribute(x.a.answer, x.a.context, embedder.get(), {.threshold = threshold});
      found += cites(x.q, citations, x.a.context).first;
      for (int s : cited_sources(citations)) {
        const SourcePassage* p = x.a.context.source(s);
        ++cited;
        wrong += !p || p->path.find(x.q["file"].get<std::string>()) == std::string::npos;
      }
    }
    report.add_row({{"prompt", "threshold sweep"}, {"threshold", threshold}, {"questions_with_right_citation", found},
                    {"citations", cited}, {"wrong_citations", wrong}});
  }

  // 2. A long document: first question, follow-up (memory tier), follow-up after a restart (disk
  //    tier), against reading the document again (no cache). --long-tokens 0 leaves it out.
  if (long_tokens == 0) {
    report.print_table(std::cout);
    std::cout << "results: " << report.write_json().string() << "\n";
    fs::remove_all(work);
    return 0;
  }
  const auto long_id = store->document_by_path((work / "long" / "maintenance-report.md").string());
  AskOptions o;
  o.document_ids = {*long_id};
  o.answer_tokens = 24;
  auto timed = [&](const AnswerResources& res, const std::string& question, const std::string& what) {
    const AskResult a = ask(res, question, o);
    report.add_row({{"question", what + ": " + question}, {"cached_tokens", a.cached_tokens}, {"new_tokens", a.new_tokens},
                    {"cache_tier", to_string(a.cache_tier)}, {"first_token_s", a.seconds_to_first_token}});
    return a.seconds_to_first_token;
  };
  const double first = timed(r, "When was the pump in building 3 serviced?", "long document, first question");
  const double memory = timed(r, "What did the pressure read in building 5?", "follow-up, memory tier");
  cache = std::make_unique<PrefillCache>(model->checkpoint->fingerprint(), PrefillCacheOptions{.disk_dir = work / "cache"});
  r.cache = cache.get();
  const double disk = timed(r, "Which valve was replaced in building 7?", "after a restart, disk tier");
  AnswerResources none = r;
  none.cache = nullptr;
  const double reread = timed(none, "Which valve was replaced in building 7?", "peer: re-read the document");
  report.set("long_document_tokens", store->document_chunks(*long_id).size() ? long_tokens : 0);
  report.set("first_question_ttft_s", first);
  report.set("follow_up_memory_ttft_s", memory);
  report.set("follow_up_disk_ttft_s", disk);
  report.set("reread_ttft_s", reread);
  report.set("speedup_memory_vs_reread", reread / memory);
  report.set("speedup_disk_vs_reread", reread / disk);
  report.note("facts: the labelled answer phrase appears in the answer (commas ignored); citations: a cited source is "
              "in the labelled file (and, for the PDF, on the labelled page alone)");
  report.print_table(std::cout);
  std::cout << "results: " << report.write_json().string() << "\n";
  fs::remove_all(work);
  return 0;
}
