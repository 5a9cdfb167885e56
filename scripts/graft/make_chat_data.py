#!/usr/bin/env python3
"""Teacher-written conversations in HyenaDesk's own prompt formats, for stage 2 of distill.py (GPU
machine):

  make_chat_data.py --teacher DIR --train TOKENS.npy --out CHAT.npz [--count 2048] [--batch 256] [--seconds S]
                    [--summary-share 0.125] [--distractors 0] [--faq-share 0]

Raw documentation teaches a graft the language but not the job it does in the product: reading
numbered sources, quoting the one that answers, citing it, summarising with citations. So, from
excerpts of the training text (never the held-out text): the teacher first writes a question each
excerpt answers (sampled, for variety), then answers it in the exact prompt `hyenadesk ask` builds
(app/src/answer/answer_prompt.cpp, ask.cpp, context_packer.cpp: the quote-first instructions as the
system turn, "Sources:", "## Document: TITLE", numbered passages, the question and its tail),
greedily as the product does; a share of the excerpts (--summary-share, one in eight by default)
gets the summary prompt instead (app/src/answer/summarize.cpp). Each conversation is stored whole (prompt + the teacher's reply +
end of turn); distill.py packs them into rows and trains on the teacher's logits over all of it.

Generation uses transformers' Qwen2 implementation (key-value cache, batched, left-padded) loaded
with the teacher's weights; before any text is kept its logits are checked against hybrid_model's
forward of the same weights, so a wrong weight mapping stops the run instead of writing noise.
"""
import argparse
import json
import os
import random
import time

import numpy as np
import torch
from tokenizers import Tokenizer

import hybrid_model as hm

ANSWER_SYSTEM = ("You answer questions about the user's documents, using only the numbered sources given. First "
                 "quote, word for word, the sentence from the sources that answers the question, with its source "
                 "number like [2]. Then give the answer in one or two sentences that agree with that quote. If the "
                 "sources do not answer the question, say so.")
ANSWER_TAIL = "\n\nFirst quote the sentence from the sources that answers it (with its number, like [1]), then answer."
SUMMARY_SYSTEM = ("You summarize documents faithfully. Use only the text given, keep the numbers and names exact, "
                  "and cite the source numbers like [3] after each point.")
SUMMARY_ASK = ("Summarize the document above in about 80 words, as short paragraphs or bullet points, citing the "
               "source numbers like [3].")
QUESTION_ASK = ("Here is an excerpt from a manual:\n\n{text}\n\nWrite one short question that this excerpt answers. "
                "Reply with the question only.")


def chatml(system, user):
    return (f"<|im_start|>system\n{system}<|im_end|>\n<|im_start|>user\n{user}<|im_end|>\n"
            f"<|im_start|>assistant\n")


def excerpt(tok, tokens, rng, parts):
    """A window of the training text cut at paragraph breaks: (title, [paragraphs])."""
    for _ in range(20):
        start = rng.randrange(0, len(tokens) - 900)
        text = tok.decode(tokens[start:start + rng.randrange(350, 800)].tolist())
        paras = [p.strip() for p in text.split("\n\n")][1:-1]  # the cut ends are partial
        paras = [p for p in paras if len(p) > 40][:8]
        if len(paras) >= 2:
            title = next(name for end, name in parts if start < end)
            return title, paras
    return None


def rendered(title, paras, first=1):
    """context_packer.cpp's render: '## Document: T' then '[n] text' lines, a blank line after; the
    numbers run on across documents, as there."""
    return f"## Document: {title}\n" + "".join(f"[{n}] {p}\n" for n, p in enumerate(paras, first)) + "\n"


def rendered_questions(title, sections, first=1):
    """A questions-and-answers document as render() shows one: each question is the section of the
    passages under it, given only where it changes: '[n] (QUESTION) text', then '[n+1] text'."""
    out, n = f"## Document: {title}\n", first
    for question, paras in sections:
        for i, p in enumerate(paras):
            out += f"[{n}] ({question}) {p}\n" if i == 0 else f"[{n}] {p}\n"
            n += 1
    return out + "\n"


def sources_with_distractors(docs):
    """Several documents in one "Sources:" block, numbered on across them."""
    out, first = "", 1
    for title, paras in docs:
        out += rendered(title, paras, first)
        first += len(paras)
    return out


def qwen2_from(w, cfg, device):
    """transformers' Qwen2ForCausalLM holding the teacher's weights (our Wqkv is [q | k | v])."""
    from transformers import Qwen2Config, Qwen2ForCausalLM
    inner = w["blocks.0.mlp.l1.weight"].shape[0]
    qc = Qwen2Config(vocab_size=w["embedding_layer.weight"].shape[0], hidden_size=cfg.d, intermediate_size=inner,
                     num_hidden_layers=cfg.layers, num_attention_heads=cfg.heads, num_key_value_heads=cfg.kv_heads,
                     rms_norm_eps=cfg.eps, rope_theta=cfg.base, tie_word_embeddings=cfg.tied,
                     max_position_embeddings=cfg.raw.get("max_seqlen", 32768), torch_dtype=torch.bfloat16)
    with torch.device(device):
        m = Qwen2ForCausalLM(qc).to(torch.bfloat16)
    sd = {"model.embed_tokens.weight": w["embedding_layer.weight"], "model.norm.weight": w["norm.scale"],
          "lm_head.weight": w["embedding_layer.weight"] if cfg.tied else w["unembed.weight"]}
    kv = cfg.kv_heads * cfg.hd
    for i in range(cfg.layers):
        b, o = f"blocks.{i}.", f"model.layers.{i}."
        qkv = w[b + "inner_mha_cls.Wqkv.weight"]
        bias = w.get(b + "inner_mha_cls.Wqkv.bias", torch.zeros(qkv.shape[0], device=qkv.device))  # Llama: none
        for name, (lo, hi) in {"q": (0, cfg.d), "k": (cfg.d, cfg.d + kv), "v": (cfg.d + kv, cfg.d + 2 * kv)}.items():
            sd[o + f"self_attn.{name}_proj.weight"] = qkv[lo:hi]
            sd[o + f"self_attn.{name}_proj.bias"] = bias[lo:hi]
        sd[o + "self_attn.o_proj.weight"] = w[b + "inner_mha_cls.out_proj.weight"]
        sd[o + "input_layernorm.weight"] = w[b + "pre_norm.scale"]
        sd[o + "post_attention_layernorm.weight"] = w[b + "post_norm.scale"]
        for ours, theirs in (("l1", "gate_proj"), ("l2", "up_proj"), ("l3", "down_proj")):
            sd[o + f"mlp.{theirs}.weight"] = w[b + f"mlp.{ours}.weight"]
    missing, unexpected = m.load_state_dict({k: v.to(torch.bfloat16) for k, v in sd.items()}, strict=False)
    missing = [k for k in missing if "rotary" not in k]
    if missing or unexpected:
        raise SystemExit(f"make_chat_data: weight mapping incomplete: missing {missing[:4]}, unexpected {unexpected[:4]}")
    return m.eval()


def check_same_model(m, w, cfg, device):
    ids = torch.randint(0, 20000, (1, 256), device=device, generator=torch.Generator(device).manual_seed(0))
    with torch.no_grad():
        ours = hm.forward(w, cfg, ids).float()
        theirs = m(ids).logits.float()
    agree = float((ours.argmax(-1) == theirs.argmax(-1)).float().mean())
    rel = float((ours - theirs).norm() / ours.norm())
    print(f"make_chat_data: transformers vs hybrid_model logits: relative difference {rel:.4f}, argmax agreement {agree:.3f}",
          flush=True)
    if rel > 0.05 or agree < 0.9:
        raise SystemExit("make_chat_data: transformers' model does not reproduce the teacher; nothing written")
    return rel, agree


def generate(m, tok, prompts, max_new, sample, device, end_id, pad_id):
    """Replies to chat prompts, left-padded in one batch: (prompt tokens, [(reply tokens without the
    end of turn, whether it ended)])."""
    enc = [tok.encode(p, add_special_tokens=False).ids for p in prompts]
    width = max(len(e) for e in enc)
    ids = torch.full((len(enc), width), pad_id, dtype=torch.long)
    mask = torch.zeros((len(enc), width), dtype=torch.long)
    for r, e in enumerate(enc):
        ids[r, width - len(e):] = torch.tensor(e)
        mask[r, width - len(e):] = 1
    with torch.no_grad():
        out = m.generate(input_ids=ids.to(device), attention_mask=mask.to(device), max_new_tokens=max_new,
                         do_sample=sample, temperature=0.8 if sample else None, top_p=0.95 if sample else None,
                         top_k=None, eos_token_id=end_id, pad_token_id=pad_id)
    replies = []
    for row in out[:, width:].tolist():
        reply, ended = [], False
        for t in row:
            if t in (end_id, pad_id):
                ended = True
                break
            reply.append(t)
        replies.append((reply, ended))
    return enc, replies


def main():
    p = argparse.ArgumentParser()
    p.add_argument("--teacher", required=True)
    p.add_argument("--train", required=True)
    p.add_argument("--out", required=True)
    p.add_argument("--count", type=int, default=2048)
    p.add_argument("--summary-share", type=float, default=0.125,
                   help="share of excerpts given the summary prompt (the run-4 graft summarized worst: raise it)")
    p.add_argument("--distractors", type=int, default=0,
                   help="other excerpts put beside each answer's excerpt, in random order: the product's prompts hold "
                        "several documents, and the run-5 graft quoted the wrong one")
    p.add_argument("--faq-share", type=float, default=0.0,
                   help="share of summary prompts over a questions-and-answers document (2-3 excerpts, each under the "
                        "question the teacher wrote for it): the run-6 graft summarized such a document by listing "
                        "its questions")
    p.add_argument("--batch", type=int, default=256)
    p.add_argument("--seed", type=int, default=0)
    p.add_argument("--seconds", type=float, default=0, help="stop starting new batches after this long (0: no limit)")
    p.add_argument("--device", default="cuda")
    p.add_argument("--parts", default="Python 3.11 documentation:2677435,Debian Administrator's Handbook:0",
                   help="titles of the training text's parts and their token counts, in order (0: the rest)")
    a = p.parse_args()
    t0 = time.time()
    rng = random.Random(a.seed)
    torch.manual_seed(a.seed)
    device = torch.device(a.device)
    tok = Tokenizer.from_file(os.path.join(a.teacher, "tokenizer.json"))
    tokens = np.load(a.train).astype(np.int64)
    parts, end = [], 0
    for item in a.parts.split(","):
        name, count = item.rsplit(":", 1)
        end = end + int(count) if int(count) else len(tokens)
        parts.append((end, name))
    cfg = hm.Config(a.teacher)
    w = hm.load_teacher(a.teacher, device, torch.bfloat16 if device.type == "cuda" else torch.float32)
    m = qwen2_from(w, cfg, device)
    rel, agree = check_same_model(m, w, cfg, device)
    end_id, pad_id = tok.token_to_id("<|im_end|>"), tok.token_to_id("<|endoftext|>")
    system = json.load(open(os.path.join(a.teacher, "tokenizer_config.json")))["hyenadesk"]["default_system_prompt"]

    conversations, kinds, dropped = [], {"answer": 0, "summary": 0, "faq summary": 0}, 0
    while len(conversations) < a.count:
        batch = [x for x in (excerpt(tok, tokens, rng, parts) for _ in range(a.batch)) if x]
        # The question each excerpt answers, in the teacher's words.
        _, questions = generate(m, tok, [chatml(system, QUESTION_ASK.format(text="\n\n".join(ps))) for _, ps in batch],
                                48, True, device, end_id, pad_id)
        prompts, faq = [], set()
        questions_of = [tok.decode(q).strip().split("\n")[0] for q, _ in questions]
        questions_of = [q if q.endswith("?") else "" for q in questions_of]
        for i, ((title, ps), (q, _)) in enumerate(zip(batch, questions)):
            question = tok.decode(q).strip().split("\n")[0]
            if rng.random() < a.summary_share or not question.endswith("?"):
                # (Random draws only when the option is on: the default runs keep their earlier data.)
                asked = ([j for j in rng.sample(range(len(batch)), min(3, len(batch))) if j != i and questions_of[j]]
                         if a.faq_share and questions_of[i] else [])
                if asked and rng.random() < a.faq_share:
                    sections = [(question, ps[:2])] + [(questions_of[j], batch[j][1][:2]) for j in asked[:rng.randint(1, 2)]]
                    prompts.append(chatml(SUMMARY_SYSTEM, "Sources:\n\n" + rendered_questions(title, sections) +
                                          SUMMARY_ASK))
                    faq.add(len(prompts) - 1)
                    continue
                prompts.append(chatml(SUMMARY_SYSTEM, "Sources:\n\n" + rendered(title, ps) + SUMMARY_ASK))
            else:
                docs = [(title, ps)]
                if a.distractors:
                    others = [batch[j] for j in rng.sample(range(len(batch)), min(a.distractors + 1, len(batch))) if j != i]
                    docs += others[:a.distractors]
                    rng.shuffle(docs)
                prompts.append(chatml(ANSWER_SYSTEM, "Sources:\n\n" + sources_with_distractors(docs) + "Question: " +
                                      question + ANSWER_TAIL))
        enc, replies = generate(m, tok, prompts, 224, False, device, end_id, pad_id)
        for n, (prompt, e, (r, ended)) in enumerate(zip(prompts, enc, replies)):
            if not r or not ended:  # cut off at the length limit: often a loop, not worth learning
                dropped += 1
                continue
            conversations.append(np.array(e + r + [end_id], dtype=np.int32))
            kinds["faq summary" if n in faq else "summary" if prompt.startswith("<|im_start|>system\nYou summarize")
                  else "answer"] += 1
        print(f"make_chat_data: {len(conversations)} conversations, {time.time() - t0:.0f} s", flush=True)
        if a.seconds and time.time() - t0 > a.seconds:
            print(f"make_chat_data: time limit reached with {len(conversations)} of {a.count}", flush=True)
            break
    conversations = conversations[:a.count]
    lengths = np.array([len(c) for c in conversations], dtype=np.int64)
    np.savez(a.out, tokens=np.concatenate(conversations), lengths=lengths)
    report = {"conversations": len(conversations), "tokens": int(lengths.sum()), "kinds": kinds, "dropped_unfinished": dropped,
              "mean_length": float(lengths.mean()), "check_relative_difference": rel, "check_argmax_agreement": agree,
              "seconds": time.time() - t0, "example": tok.decode(conversations[0].tolist())}
    json.dump(report, open(os.path.splitext(a.out)[0] + ".json", "w"), indent=1)
    print(f"make_chat_data: wrote {a.out}: {report['conversations']} conversations, {report['tokens']} tokens "
          f"in {report['seconds']:.0f} s", flush=True)


if __name__ == "__main__":
    main()
