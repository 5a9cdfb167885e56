// hyenadesk serve: the OpenAI-compatible API server (hd::ApiServer) until SIGTERM or Ctrl-C.
#include <signal.h>
#include <unistd.h>

#include <iostream>
#include <thread>

#include "args.h"
#include "commands.h"
#include "hd/app/api_server.h"
#include "hd/app/paths.h"

namespace hd::cli {

int run_serve(const Argv& argv) {
  Args args(argv, {"--host", "--port", "--model", "--models", "--store", "--api-key", "--device", "--threads",
                   "--embedder", "--queue", "--max-body-kb", "--max-tokens-limit", "--cors-origin", "--allow-random",
                   "--cache-mb", "--gpu-cache-mb", "--disk-cache-mb"});
  if (!args.positional().empty()) throw UsageError("serve takes no arguments, only options");
  ApiServerOptions o;
  if (auto h = args.value("--host")) o.host = *h;
  const long long port = args.integer("--port", 4750);
  if (port < 0 || port > 65535) throw UsageError("--port takes 0 (any free port) to 65535");
  o.port = static_cast<int>(port);
  if (auto k = args.value("--api-key")) o.api_key = *k;
  if (auto c = args.value("--cors-origin")) o.cors_origin = *c;
  const long long queue = args.integer("--queue", 8);
  if (queue < 1 || queue > 1024) throw UsageError("--queue takes 1 to 1024");
  o.queue_limit = static_cast<std::size_t>(queue);
  const long long body_kb = args.integer("--max-body-kb", 4096);
  if (body_kb < 1 || body_kb > (1 << 20)) throw UsageError("--max-body-kb takes 1 to 1048576");
  o.max_body_bytes = static_cast<std::size_t>(body_kb) << 10;
  const long long max_tokens = args.integer("--max-tokens-limit", 4096);
  if (max_tokens < 1 || max_tokens > (1 << 20)) throw UsageError("--max-tokens-limit takes 1 to 1048576");
  o.max_tokens_limit = static_cast<int>(max_tokens);
  o.service.models_dir = args.value("--models") ? std::filesystem::path(*args.value("--models")) : default_models_dir();
  o.service.store_dir = args.value("--store") ? std::filesystem::path(*args.value("--store")) : default_store_dir();
  if (auto m = args.value("--model")) o.service.model = *m;
  if (auto e = args.value("--embedder")) o.service.embedder_dir = *e;
  if (auto d = args.value("--device")) {
    if (*d == "cpu") o.service.device = DevicePreference::cpu;
    else if (*d == "cuda") o.service.device = DevicePreference::cuda;
    else if (*d != "auto") throw UsageError("--device takes auto, cpu or cuda");
  }
  o.service.cpu_threads = static_cast<int>(args.integer("--threads", 0));
  o.service.memory_cache_mb = static_cast<std::uint64_t>(args.integer("--cache-mb", 4096));
  o.service.gpu_cache_mb = static_cast<std::uint64_t>(args.integer("--gpu-cache-mb", 2048));
  o.service.disk_cache_mb = static_cast<std::uint64_t>(args.integer("--disk-cache-mb", 32768));
  o.service.allow_random_weights = args.has("--allow-random");

  // SIGTERM and SIGINT write a byte to a pipe (a handler may run on any thread, the BLAS pool's
  // too, and may do nothing more); a watcher thread reads it and stops the server, which lets the
  // requests in flight finish and then cancels what remains.
  static int wake[2] = {-1, -1};
  if (pipe(wake) != 0) throw std::runtime_error("serve: cannot create a pipe for signals");
  struct sigaction on_signal {};
  on_signal.sa_handler = [](int sig) {
    const char byte = static_cast<char>(sig);
    [[maybe_unused]] const ssize_t n = write(wake[1], &byte, 1);
  };
  sigemptyset(&on_signal.sa_mask);
  ApiServer server(o);
  sigaction(SIGTERM, &on_signal, nullptr);
  sigaction(SIGINT, &on_signal, nullptr);
  std::thread watcher([&] {
    char got = 0;
    if (read(wake[0], &got, 1) == 1 && got != 0) {
      std::cerr << "serve: " << (got == SIGTERM ? "SIGTERM" : "interrupted") << ": finishing the requests in flight\n";
      server.stop();
    }
  });
  std::cout << "serve: listening on http://" << (o.host.find(':') != std::string::npos ? "[" + o.host + "]" : o.host) << ":"
            << server.port() << "/v1" << (o.api_key.empty() ? "" : " (API key required)") << std::endl;
  server.run();
  const char done = 0;  // run() may also end by itself: release the watcher
  [[maybe_unused]] const ssize_t n = write(wake[1], &done, 1);
  watcher.join();
  std::cerr << "serve: stopped\n";
  return 0;
}

}  // namespace hd::cli
