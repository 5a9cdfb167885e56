#include "library_model.h"

#include <QBrush>
#include <QFileInfo>

void LibraryModel::setEntries(const UiLibrary& entries) {
  beginResetModel();
  entries_ = entries;
  endResetModel();
}

QVariant LibraryModel::data(const QModelIndex& index, int role) const {
  if (!index.isValid()) return {};
  const hd::LibraryEntry& e = entries_[index.row()];
  const bool failed = e.status == "failed";
  if (role == Qt::DisplayRole) {
    switch (index.column()) {
      case Title: return QString::fromStdString(e.title);
      case Format: return QString::fromStdString(e.format);
      case Pages: return e.pages ? QVariant(e.pages) : QVariant(QStringLiteral("—"));
      case Chunks: return QVariant(static_cast<qlonglong>(e.chunks));
      case Status: {
        if (!failed) return QString::fromStdString(e.status);
        // The reason names the file; the row already does.
        QString why = QString::fromStdString(e.error);
        const QString prefix = QString::fromStdString(e.path) + QStringLiteral(": ");
        if (why.startsWith(prefix)) why = why.mid(prefix.size());
        return QStringLiteral("failed: %1").arg(why);
      }
    }
  }
  if (role == Qt::ToolTipRole) {
    return QString::fromStdString(e.path) + (failed ? QStringLiteral("\n") + QString::fromStdString(e.error) : QString());
  }
  if (role == Qt::ForegroundRole && failed) return QBrush(Qt::darkRed);
  if (role == Qt::AccessibleTextRole) return QStringLiteral("%1, %2").arg(QString::fromStdString(e.title), QString::fromStdString(e.status));
  return {};
}

QVariant LibraryModel::headerData(int section, Qt::Orientation orientation, int role) const {
  if (orientation != Qt::Horizontal || role != Qt::DisplayRole) return {};
  static const char* names[] = {"Document", "Format", "Pages", "Chunks", "Status"};
  return QString::fromUtf8(names[section]);
}
