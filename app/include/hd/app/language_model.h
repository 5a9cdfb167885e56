#pragma once
// A language model loaded for the answer use cases: checkpoint, backend (GPU when asked for or
// when one is usable; the CPU when the GPU is absent or out of memory, said out loud), tokenizer
// and chat template, all from one model folder.
#include <filesystem>
#include <list>
#include <mutex>
#include <memory>
#include <string>

#include "hd/engine/backend.h"
#include "hd/engine/checkpoint.h"
#include "hd/engine/prompt_template.h"
#include "hd/engine/tokenizer.h"

namespace hd {

enum class DevicePreference { automatic, cpu, cuda };

struct LanguageModel {
  std::filesystem::path dir;
  std::string name;
  std::unique_ptr<Checkpoint> checkpoint;
  std::unique_ptr<Backend> backend;
  std::unique_ptr<Tokenizer> tokenizer;
  ChatTemplate chat;
  bool random_weights = false;
  std::string notice;  // e.g. why the GPU was not used

  std::int64_t context_tokens() const { return checkpoint->config().max_seqlen; }

  // The tokens of a document's text as it enters prompts, remembered (least recently used goes
  // first), so a follow-up question on a long document does not tokenize it again: for a 131k-token
  // document that took longer than restoring its state.
  std::vector<int> encode_document(const std::string& text) const;

 private:
  struct Encoded {
    std::string text;
    std::vector<int> tokens;
  };
  mutable std::list<Encoded> encoded_;
  mutable std::mutex encoded_mutex_;
};

// Throws (naming the folder and the problem) when the folder is not a usable model.
std::unique_ptr<LanguageModel> load_language_model(const std::filesystem::path& dir, DevicePreference device,
                                                   int cpu_threads = 0);

}  // namespace hd
