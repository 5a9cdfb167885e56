#pragma once
// The library pane: the documents table, add (dialog or drag and drop), remove, summarize, and the
// ingest progress with its Cancel button. Emits what the user asked for; the window routes it.
#include <QWidget>

#include "library_model.h"

class QLabel;
class QProgressBar;
class QPushButton;
class QTableView;

class LibraryPanel : public QWidget {
  Q_OBJECT

 public:
  explicit LibraryPanel(QWidget* parent = nullptr);
  LibraryModel* model() const { return model_; }
  QTableView* table() const { return table_; }
  QVector<long long> selectedDocumentIds() const;
  QStringList selectedPaths() const;
  QStringList chooseFiles();  // the open-files dialog; empty when cancelled

 public slots:
  void showProgress(int filesDone, int filesTotal, const QString& current);
  void ingestFinished(const QString& summary);
  void addFilesByDialog();
  void addFolderByDialog();

 signals:
  void addRequested(const QStringList& paths);
  void removeRequested(const QStringList& paths);
  void summarizeRequested(long long documentId, const QString& title);
  void cancelRequested();

 protected:
  void dragEnterEvent(class QDragEnterEvent* event) override;
  void dropEvent(class QDropEvent* event) override;

 private:
  void showContextMenu(const QPoint& at);

  LibraryModel* model_;
  QTableView* table_;
  QProgressBar* progress_;
  QLabel* progressText_;
  QPushButton* cancel_;
};
