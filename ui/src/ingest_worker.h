#pragma once
// Ingest on its own thread: reads files into the store (with embeddings and the vector index),
// reports per-file progress, stops between files on cancel (nothing stored is lost; the next run
// resumes), and lists the library after every change. It also watches the collections' folders
// and files and says which to read again after they change (filesChanged). The window talks to it
// by queued signals only; cancel() is the one call made across threads (an atomic flag).
#include <QObject>
#include <QStringList>
#include <atomic>
#include <memory>

#include "ui_types.h"

namespace hd {
class Store;
class TextEmbedder;
}  // namespace hd

class FolderWatcher;

class IngestWorker : public QObject {
  Q_OBJECT

 public:
  IngestWorker(QString storeDir, QString modelsDir);
  ~IngestWorker() override;
  void cancel() { cancel_ = true; }

 public slots:
  void open();  // on the worker thread: opens the store and the embedder, then lists the library
  void ingest(const QStringList& paths);
  void remove(const QStringList& paths);
  void addToCollection(const QString& name, const QStringList& roots);
  void removeCollection(const QString& name);  // and its documents
  void refresh();

 signals:
  void progress(int filesDone, int filesTotal, const QString& current);
  void finished(const QString& summary, bool cancelled);
  void libraryChanged(const UiLibrary& entries, const QStringList& collections);
  void failed(const QString& message);
  void filesChanged(const QStringList& paths);  // watched paths to read again

 private:
  QString storeDir_, modelsDir_;
  std::unique_ptr<hd::Store> store_;
  std::unique_ptr<hd::TextEmbedder> embedder_;
  std::atomic<bool> cancel_{false};
  FolderWatcher* watcher_ = nullptr;  // made on the ingest thread, in open()
};
