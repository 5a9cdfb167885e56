#include "hd/app/language_model.h"

#include "hd/app/model_files.h"
#include "hd/app/model_registry.h"
#include "hd/kernels/device.h"

namespace hd {

std::unique_ptr<LanguageModel> load_language_model(const std::filesystem::path& dir, DevicePreference device, int cpu_threads) {
  auto m = std::make_unique<LanguageModel>();
  m->dir = dir;
  m->name = dir.filename().string();
  m->checkpoint = Checkpoint::open(dir);
  m->tokenizer = Tokenizer::from_file(find_tokenizer(dir));
  if (m->tokenizer->vocab_size() > m->checkpoint->config().vocab_size) {
    throw TokenizerError(dir.string() + ": the tokenizer has " + std::to_string(m->tokenizer->vocab_size()) +
                         " pieces but the model only " + std::to_string(m->checkpoint->config().vocab_size));
  }
  m->chat = ChatTemplate::for_model(dir);
  m->random_weights = has_random_weights(dir);
  const bool gpu = device == DevicePreference::cuda || (device == DevicePreference::automatic && query_device(0).available);
  if (gpu) {
    try {
      m->backend = make_cuda_backend(*m->checkpoint);
    } catch (const std::exception& e) {
      if (device == DevicePreference::cuda) throw;
      m->notice = std::string("the GPU could not take the model (") + e.what() + "): running on the CPU";
    }
  }
  if (!m->backend) m->backend = make_cpu_backend(*m->checkpoint, {.threads = cpu_threads});
  return m;
}

std::vector<int> LanguageModel::encode_document(const std::string& text) const {
  {
    std::lock_guard<std::mutex> lock(encoded_mutex_);
    for (auto it = encoded_.begin(); it != encoded_.end(); ++it) {
      if (it->text.size() != text.size() || it->text != text) continue;
      encoded_.splice(encoded_.begin(), encoded_, it);
      return it->tokens;
    }
  }
  std::vector<int> tokens = tokenizer->encode(text, false);
  std::lock_guard<std::mutex> lock(encoded_mutex_);
  encoded_.push_front({text, tokens});
  std::size_t bytes = 0, kept = 0;
  for (auto it = encoded_.begin(); it != encoded_.end(); ++it, ++kept) {
    bytes += it->text.size() + it->tokens.size() * sizeof(int);
    if (kept >= 64 || bytes > (256u << 20)) {  // at most 64 documents or 256 MiB
      encoded_.erase(it, encoded_.end());
      break;
    }
  }
  return tokens;
}

}  // namespace hd
