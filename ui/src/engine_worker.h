#pragma once
// The language model on its own thread: ask and summarize (hd::AnswerService), streaming the
// answer token by token, with Stop; locating a cited passage for the viewer. Loaded on first use
// and whenever the settings change. The window talks to it by queued signals only; stop() is the
// one call made across threads (an atomic flag).
#include <QObject>
#include <atomic>
#include <memory>

#include "settings.h"
#include "ui_types.h"

namespace hd {
class AnswerService;
}

class EngineWorker : public QObject {
  Q_OBJECT

 public:
  explicit EngineWorker(UiSettings settings);
  ~EngineWorker() override;
  void stop() { stop_ = true; }

 public slots:
  void configure(const UiSettings& settings);  // reloads the model with these settings
  // documentIds empty: all documents, or the collection's when one is named.
  void ask(const QString& question, const QVector<long long>& documentIds, const QString& collection);
  void summarize(long long documentId, const QString& length, const QString& title);
  void locate(const UiSource& source, int pageWidth);
  void renderPage(const QString& path, int page, int width, const QString& quote);
  void exportText(const QString& path, const QString& text);

 signals:
  void status(const QString& modelStatus, bool hasModel);
  void token(const QString& piece);
  void answered(const UiAnswer& answer);
  void summaryProgress(int sectionsDone, int sections, double seconds, double secondsLeft);
  void located(const UiPassage& passage);
  void cacheUse(const QString& text);
  void gpuUse(const QString& text);
  void modelsListed(const UiModels& models);
  void failed(const QString& message);
  void exported(const QString& path);

 private:
  bool ensureService();
  void reportCache();

  UiSettings settings_;
  std::unique_ptr<hd::AnswerService> service_;
  std::atomic<bool> stop_{false};
};
