#include "hd/app/model_summary.h"

#include <sstream>

#include "hd/app/format.h"
#include "hd/engine/checkpoint.h"

namespace hd {

std::string model_summary_text(const std::filesystem::path& dir, const ModelSummaryOptions& options) {
  auto ck = Checkpoint::open(dir);
  const ModelConfig& c = ck->config();
  const std::int64_t context = options.context_tokens > 0 ? options.context_tokens : c.max_seqlen;
  std::ostringstream o;
  o << "Model " << dir.string() << "\n";
  o << "  layers        " << c.num_layers << " (" << c.num_hyena_blocks() << " Hyena, " << c.num_attention_blocks()
    << " attention): ";
  for (BlockKind k : c.blocks) o << (k == BlockKind::hyena ? 'H' : 'A');
  o << "\n";
  o << "  hidden        " << c.hidden_size << ", MLP " << c.inner_mlp_size << ", vocab " << c.vocab_size << "\n";
  o << "  attention     " << c.num_attention_heads << " heads x " << c.head_dim() << ", " << c.num_kv_heads
    << " kv heads, rotary base " << c.rotary_emb_base << "\n";
  o << "  hyena         state size " << c.state_size << ", short filter " << c.short_filter_length
    << (c.column_split_hyena ? ", column split" : "") << "\n";
  o << "  embeddings    " << (c.tie_embeddings ? "tied" : "untied") << ", max_seqlen " << c.max_seqlen << "\n";
  o << "  parameters    " << format_count(c.parameter_count()) << " (";
  bool first = true;
  for (auto [dtype, n] : ck->parameters_by_dtype()) {
    o << (first ? "" : ", ") << dtype_name(dtype) << " " << format_count(n);
    first = false;
  }
  o << "), " << ck->files().size() << " shard(s), " << format_bytes(ck->bytes_on_disk()) << " on disk\n";
  const std::uint64_t kv = c.kv_cache_bytes(context), hyena = c.hyena_state_bytes();
  o << "  at " << context << " tokens: KV cache " << format_bytes(kv) << " + Hyena state " << format_bytes(hyena)
    << " = " << format_bytes(kv + hyena) << " of inference cache\n";
  // Weights run in bf16 on the GPU (poles and residues float32): about 2 bytes a parameter.
  const std::uint64_t weights = static_cast<std::uint64_t>(c.parameter_count()) * 2;
  o << "  memory needed " << format_bytes(weights + kv + hyena) << " (bf16 weights " << format_bytes(weights)
    << " + cache), before working buffers\n";
  for (const auto& w : ck->warnings()) o << "  warning: " << w << "\n";
  for (const auto& k : c.unknown_keys) o << "  note: config key \"" << k << "\" is not used\n";
  return o.str();
}

}  // namespace hd
