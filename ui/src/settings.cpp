#include "settings.h"

#include <QSettings>

#include "hd/app/paths.h"

UiSettings UiSettings::load(const QString& storeDir, const QString& modelsDir) {
  QSettings q;
  UiSettings s;
  s.storeDir = storeDir;
  // --models on the command line wins over the saved folder, which wins over the default.
  s.modelsDir = !modelsDir.isEmpty() ? modelsDir
                                     : q.value("models/dir", QString::fromStdString(hd::default_models_dir().string())).toString();
  s.model = q.value("models/name").toString();
  s.device = q.value("engine/device", s.device).toString();
  s.embedderDevice = q.value("engine/embedderDevice", s.embedderDevice).toString();
  s.contextBudget = q.value("engine/contextBudget", 0).toInt();
  s.answerTokens = q.value("engine/answerTokens", s.answerTokens).toInt();
  s.gpuCacheMb = q.value("cache/gpuMb", s.gpuCacheMb).toInt();
  s.memoryCacheMb = q.value("cache/memoryMb", s.memoryCacheMb).toInt();
  s.diskCacheMb = q.value("cache/diskMb", s.diskCacheMb).toInt();
  s.cpuThreads = q.value("engine/cpuThreads", 0).toInt();
  return s;
}

void UiSettings::save() const {
  QSettings q;
  q.setValue("models/dir", modelsDir);
  q.setValue("models/name", model);
  q.setValue("engine/device", device);
  q.setValue("engine/embedderDevice", embedderDevice);
  q.setValue("engine/contextBudget", contextBudget);
  q.setValue("engine/answerTokens", answerTokens);
  q.setValue("cache/gpuMb", gpuCacheMb);
  q.setValue("cache/memoryMb", memoryCacheMb);
  q.setValue("cache/diskMb", diskCacheMb);
  q.setValue("engine/cpuThreads", cpuThreads);
}

hd::AnswerServiceOptions UiSettings::serviceOptions() const {
  hd::AnswerServiceOptions o;
  o.store_dir = storeDir.toStdString();
  o.models_dir = modelsDir.toStdString();
  o.model = model.toStdString();
  o.device = device == "cpu" ? hd::DevicePreference::cpu : device == "cuda" ? hd::DevicePreference::cuda : hd::DevicePreference::automatic;
  o.embedder_device = embedderDevice == "cuda" ? hd::EmbedderDevice::cuda : embedderDevice == "auto" ? hd::EmbedderDevice::automatic
                                                                                                    : hd::EmbedderDevice::cpu;
  o.cpu_threads = cpuThreads;
  o.gpu_cache_mb = static_cast<std::uint64_t>(gpuCacheMb);
  o.memory_cache_mb = static_cast<std::uint64_t>(memoryCacheMb);
  o.disk_cache_mb = static_cast<std::uint64_t>(diskCacheMb);
  return o;
}
