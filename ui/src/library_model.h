#pragma once
// The library as a table: title, format, pages, chunks, status (with the failure reason).
#include <QAbstractTableModel>

#include "ui_types.h"

class LibraryModel : public QAbstractTableModel {
  Q_OBJECT

 public:
  enum Column { Title, Format, Pages, Chunks, Status, ColumnCount };
  using QAbstractTableModel::QAbstractTableModel;

  void setEntries(const UiLibrary& entries);
  const hd::LibraryEntry& entry(int row) const { return entries_[row]; }

  int rowCount(const QModelIndex& parent = {}) const override { return parent.isValid() ? 0 : static_cast<int>(entries_.size()); }
  int columnCount(const QModelIndex& parent = {}) const override { return parent.isValid() ? 0 : ColumnCount; }
  QVariant data(const QModelIndex& index, int role) const override;
  QVariant headerData(int section, Qt::Orientation orientation, int role) const override;

 private:
  UiLibrary entries_;
};
