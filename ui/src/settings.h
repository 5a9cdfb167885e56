#pragma once
// The user's settings, kept with QSettings; read by the window, applied by the engine worker.
#include <QString>

#include "hd/app/answer_service.h"

struct UiSettings {
  QString storeDir, modelsDir;
  QString model;           // empty: the models folder's default
  QString device = "auto"; // auto, cpu, cuda
  QString embedderDevice = "cpu";
  int contextBudget = 0;   // tokens for documents; 0: the model's context minus the answer
  int answerTokens = 256;
  int gpuCacheMb = 2048, memoryCacheMb = 4096, diskCacheMb = 32768;
  int cpuThreads = 0;      // 0: all cores

  static UiSettings load(const QString& storeDir, const QString& modelsDir);
  void save() const;
  hd::AnswerServiceOptions serviceOptions() const;
};
