#include "ingest_worker.h"

#include <filesystem>

#include "folder_watcher.h"
#include "hd/app/ingest_folder.h"
#include "hd/app/library.h"
#include "hd/engine/text_embedder.h"
#include "hd/retrieval/store.h"

namespace fs = std::filesystem;

IngestWorker::IngestWorker(QString storeDir, QString modelsDir) : storeDir_(std::move(storeDir)), modelsDir_(std::move(modelsDir)) {}

IngestWorker::~IngestWorker() = default;

namespace {
constexpr int kQuietMs = 2000;            // re-read watched files once they have been quiet this long
constexpr std::size_t kMostWatches = 20000;  // inotify watches are a per-user resource
}  // namespace

void IngestWorker::open() {
  if (!watcher_) {
    watcher_ = new FolderWatcher(kQuietMs, this);
    connect(watcher_, &FolderWatcher::changed, this, &IngestWorker::filesChanged);
  }
  try {
    store_ = hd::Store::open(storeDir_.toStdString());
    const fs::path embedder = fs::path(modelsDir_.toStdString()) / "all-minilm-l6-v2";
    if (fs::exists(embedder / "model.safetensors")) embedder_ = hd::TextEmbedder::open(embedder, hd::EmbedderDevice::cpu);
  } catch (const std::exception& e) {
    emit failed(QStringLiteral("Cannot open the library: %1").arg(QString::fromStdString(e.what())));
    return;
  }
  refresh();
}

void IngestWorker::refresh() {
  if (!store_) return;
  try {
    const auto entries = hd::list_library(*store_);
    const hd::Collections collections = hd::Collections::load(store_->dir());
    QStringList names, watched;
    for (const auto& n : collections.names()) names << QString::fromStdString(n);
    for (const auto& p : hd::paths_to_watch(collections, kMostWatches)) watched << QString::fromStdString(p);
    emit libraryChanged(UiLibrary(entries.begin(), entries.end()), names);
    if (watcher_) watcher_->follow(watched);
  } catch (const std::exception& e) {
    emit failed(QString::fromStdString(e.what()));
  }
}

void IngestWorker::ingest(const QStringList& paths) {
  if (!store_) open();
  if (!store_) {
    emit finished(tr("Nothing was read: the library could not be opened"), false);
    return;
  }
  cancel_ = false;
  std::vector<fs::path> roots;
  for (const QString& p : paths) roots.emplace_back(p.toStdString());
  hd::IngestOptions o;
  o.count_tokens = [](std::string_view s) { return (s.size() + 3) / 4; };  // chunk sizes; the model counts exactly later
  o.embedder = embedder_.get();
  o.cancel = &cancel_;
  o.prune = true;  // files gone from a folder read again leave the library
  o.on_progress = [this](const hd::IngestProgress& p) {
    emit progress(static_cast<int>(p.files_done), static_cast<int>(p.files_total), QString::fromStdString(p.current));
  };
  try {
    const hd::IngestSummary s = hd::ingest_paths(*store_, roots, o);
    QString text = QStringLiteral("%1 read, %2 unchanged, %3 duplicates, %4 failed").arg(s.indexed).arg(s.unchanged).arg(s.duplicates).arg(s.failed);
    if (s.cancelled) text += QStringLiteral(" — stopped: add the same files again to finish");
    emit finished(text, s.cancelled);
  } catch (const std::exception& e) {  // e.g. another program writing the library (StoreBusy)
    const QString why = QStringLiteral("Ingest stopped: %1").arg(QString::fromStdString(e.what()));
    emit failed(why);
    emit finished(why, false);  // the window stops waiting for this ingest; the next one can run
  }
  refresh();
}

void IngestWorker::remove(const QStringList& paths) {
  if (!store_) return;
  std::vector<std::string> list;
  for (const QString& p : paths) list.push_back(p.toStdString());
  try {
    hd::remove_from_library(*store_, list, embedder_.get());
  } catch (const std::exception& e) {
    emit failed(QString::fromStdString(e.what()));
  }
  refresh();
}

void IngestWorker::addToCollection(const QString& name, const QStringList& roots) {
  if (!store_) return;
  try {
    hd::Collections c = hd::Collections::load(store_->dir());
    for (const QString& r : roots) c.add(name.toStdString(), r.toStdString());
    c.save();
  } catch (const std::exception& e) {
    emit failed(QString::fromStdString(e.what()));
  }
  refresh();
}

void IngestWorker::removeCollection(const QString& name) {
  if (!store_) return;
  try {
    hd::Collections c = hd::Collections::load(store_->dir());
    hd::remove_collection(*store_, c, name.toStdString(), embedder_.get());
  } catch (const std::exception& e) {
    emit failed(QString::fromStdString(e.what()));
  }
  refresh();
}
