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
class QFileSystemWatcher;
class QLabel;
class QTimer;
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
  void addPaths(const QStringList& paths);  // ingest, and remember folders as watched collections
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
  void exportAnswer(const UiAnswer& answer);
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
  QFileSystemWatcher* watcher_;
  QTimer* quiet_;  // re-ingest watched folders after a short quiet period
  QStringList changedFolders_, pendingIngest_, collections_;
  UiModels models_;  // the models folder as the engine thread listed it
  bool ingesting_ = false, answering_ = false;
};
