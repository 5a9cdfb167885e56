#include "folder_watcher.h"

#include <QFileInfo>
#include <QFileSystemWatcher>
#include <QTimer>

FolderWatcher::FolderWatcher(int quietMs, QObject* parent)
    : QObject(parent), watcher_(new QFileSystemWatcher(this)), quiet_(new QTimer(this)) {
  quiet_->setSingleShot(true);
  quiet_->setInterval(quietMs);
  connect(watcher_, &QFileSystemWatcher::directoryChanged, this, &FolderWatcher::noteChange);
  connect(watcher_, &QFileSystemWatcher::fileChanged, this, [this](const QString& file) {
    // A file that is gone (deleted, or replaced by a rename) is its folder's change: reading the
    // folder again forgets it or reads its successor.
    noteChange(QFileInfo::exists(file) ? file : QFileInfo(file).absolutePath());
  });
  connect(quiet_, &QTimer::timeout, this, [this] {
    const QStringList paths(changed_.begin(), changed_.end());
    changed_.clear();
    emit changed(paths);
  });
}

void FolderWatcher::noteChange(const QString& path) {
  changed_.insert(path);
  quiet_->start();  // restarted by every change: report once the files are quiet
}

void FolderWatcher::follow(const QStringList& paths) {
  const QSet<QString> wanted(paths.begin(), paths.end());
  QStringList stale;
  for (const QString& p : watcher_->files() + watcher_->directories()) {
    if (!wanted.contains(p)) stale << p;
  }
  if (!stale.isEmpty()) watcher_->removePaths(stale);
  QStringList fresh;
  const QStringList current = watcher_->files() + watcher_->directories();
  const QSet<QString> have(current.begin(), current.end());
  for (const QString& p : paths) {
    if (!have.contains(p)) fresh << p;
  }
  if (!fresh.isEmpty()) watcher_->addPaths(fresh);  // a path that vanished meanwhile is skipped
}
