#pragma once
// Follows the library's folders and files on the ingest thread (adding watches touches the disk),
// and once changes have been quiet for a moment reports which paths to read again: a folder that
// gained or lost files, or a file rewritten in place (a watch on its folder does not see that).
#include <QObject>
#include <QSet>
#include <QStringList>

class QFileSystemWatcher;
class QTimer;

class FolderWatcher : public QObject {
  Q_OBJECT

 public:
  explicit FolderWatcher(int quietMs, QObject* parent = nullptr);

  // Watches exactly `paths` from now on (new ones added, others dropped).
  void follow(const QStringList& paths);

 signals:
  void changed(const QStringList& paths);

 private:
  void noteChange(const QString& path);

  QFileSystemWatcher* watcher_;
  QTimer* quiet_;
  QSet<QString> changed_;
};
