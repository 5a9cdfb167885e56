#pragma once
// The main window: library | chat | viewer, menus with keyboard shortcuts, a status bar with the
// current job, cache use and the GPU. It owns two worker threads (ingest, engine) and talks to them
// by queued signals only: the UI thread never waits on the model, SQLite or the disk.
#include <QMainWindow>
#include <QStringList>
#include <QThread>

#include "settings.h"
#include "ui_types.h"

class ChatPanel;
class EngineWorker;
class IngestWorker;
class LibraryPanel;
class QLabel;
class ViewerPanel;

class MainWindow : public QMainWindow {
  Q_OBJECT

 public:
  MainWindow(const QString& storeDir, const QString& modelsDir, QWidget* parent = nullptr);
  ~MainWindow() override;

  LibraryPanel* library() const { return library_; }
  ChatPanel* chat() const { return chat_; }
  ViewerPanel* viewer() const { return viewer_; }
  bool busy() const { return ingesting_ || answering_; }
  IngestWorker* ingestWorker() const { return ingestWorker_; }  // for tests: its signals, from its thread

 public slots:
  // Ingests `paths` and puts them in a collection: `collection`, or else each folder in one named
  // after it and files in "Added files". Collections' folders and files are watched.
  void addPaths(const QStringList& paths, const QString& collection = {});
  void exportAnswerTo(const UiAnswer& answer, const QString& path);  // Markdown, written on the engine thread
  void summarizeDocument(long long documentId, const QString& title);

 signals:
  // Queued to the workers.
  void ingestRequested(const QStringList& paths);
  void removeRequested(const QStringList& paths);
  void collectionRequested(const QString& name, const QStringList& roots);
  void removeCollectionRequested(const QString& name);
  void askRequested(const QString& question, const QVector<long long>& documentIds, const QString& collection);
  void summarizeRequested(long long documentId, const QString& length, const QString& title);
  void locateRequested(const UiSource& source, int pageWidth);
  void pageRequested(const QString& path, int page, int width, const QString& quote);
  void exportRequested(const QString& path, const QString& text);
  void configureRequested(const UiSettings& settings);
  // For tests and the status bar.
  void ingestDone(bool cancelled);
  void answerDone();

 protected:
  void closeEvent(QCloseEvent* event) override;

 private:
  void buildMenus();
  void openSettings();
  void exportAnswer(const UiAnswer& answer);  // asks where, then exportAnswerTo
  void addFilesToCollection();
  void startIngest(const QStringList& paths);  // now, or after the ingest running
  void libraryChanged(const UiLibrary& entries, const QStringList& collections);
  void setJob(const QString& text);

  UiSettings settings_;
  LibraryPanel* library_;
  ChatPanel* chat_;
  ViewerPanel* viewer_;
  QLabel* job_;
  QLabel* cache_;
  QLabel* gpu_;
  QThread ingestThread_, engineThread_;
  IngestWorker* ingestWorker_;
  EngineWorker* engineWorker_;
  QStringList pendingIngest_, collections_;
  UiModels models_;  // the models folder as the engine thread listed it
  bool ingesting_ = false, answering_ = false;
};
