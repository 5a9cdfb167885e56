#pragma once
// One function per `hyenadesk` command; each returns the process exit code.
#include <filesystem>
#include <string>
#include <vector>

namespace hd::cli {

using Argv = std::vector<std::string>;

int run_version(const Argv& args);
int run_doctor(const Argv& args);
int run_mkmodel(const Argv& args);
int run_model_info(const Argv& args);
int run_generate(const Argv& args);
int run_ingest(const Argv& args);
int run_search(const Argv& args);
int run_docs(const Argv& args);
// doctor --store DIR: every check of the store, read-only; 0 when all pass, 1 otherwise.
int check_store_command(const std::filesystem::path& dir);
int run_models(const Argv& args);
int run_ask(const Argv& args);
int run_summarize(const Argv& args);
int run_chat(const Argv& args);
int run_serve(const Argv& args);

}  // namespace hd::cli
