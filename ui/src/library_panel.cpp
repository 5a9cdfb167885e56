#include "library_panel.h"

#include <QDragEnterEvent>
#include <QDropEvent>
#include <QFileDialog>
#include <QHBoxLayout>
#include <QHeaderView>
#include <QLabel>
#include <QMenu>
#include <QMimeData>
#include <QProgressBar>
#include <QPushButton>
#include <QTableView>
#include <QVBoxLayout>

LibraryPanel::LibraryPanel(QWidget* parent) : QWidget(parent), model_(new LibraryModel(this)) {
  setAcceptDrops(true);
  auto* layout = new QVBoxLayout(this);
  auto* buttons = new QHBoxLayout();
  auto* addFiles = new QPushButton(tr("Add &files…"), this);
  auto* addFolder = new QPushButton(tr("Add f&older…"), this);
  auto* remove = new QPushButton(tr("&Remove"), this);
  addFiles->setObjectName("addFiles");
  addFolder->setObjectName("addFolder");
  remove->setObjectName("removeDocuments");
  addFiles->setAccessibleName(tr("Add files to the library"));
  addFolder->setAccessibleName(tr("Add a folder to the library"));
  remove->setAccessibleName(tr("Remove the selected documents"));
  buttons->addWidget(addFiles);
  buttons->addWidget(addFolder);
  buttons->addWidget(remove);
  buttons->addStretch();
  layout->addLayout(buttons);

  table_ = new QTableView(this);
  table_->setObjectName("libraryTable");
  table_->setAccessibleName(tr("Documents in the library"));
  table_->setModel(model_);
  table_->setSelectionBehavior(QAbstractItemView::SelectRows);
  table_->setTabKeyNavigation(false);  // Tab leaves the table for the next control; arrows move between rows
  table_->setSelectionMode(QAbstractItemView::ExtendedSelection);
  table_->setContextMenuPolicy(Qt::CustomContextMenu);
  table_->horizontalHeader()->setSectionResizeMode(QHeaderView::ResizeToContents);
  table_->horizontalHeader()->setSectionResizeMode(LibraryModel::Title, QHeaderView::Stretch);
  table_->horizontalHeader()->setSectionResizeMode(LibraryModel::Status, QHeaderView::Interactive);
  table_->setWordWrap(false);
  table_->verticalHeader()->hide();
  layout->addWidget(table_);

  auto* progressRow = new QHBoxLayout();
  progress_ = new QProgressBar(this);
  progress_->setObjectName("ingestProgress");
  progress_->setAccessibleName(tr("Ingest progress"));
  progressText_ = new QLabel(this);
  progressText_->setObjectName("ingestStatus");
  progressText_->setWordWrap(true);
  cancel_ = new QPushButton(tr("Cancel"), this);
  cancel_->setObjectName("cancelIngest");
  cancel_->setAccessibleName(tr("Cancel the ingest (stops between files)"));
  cancel_->setEnabled(false);
  progressRow->addWidget(progress_);
  progressRow->addWidget(cancel_);
  layout->addLayout(progressRow);
  layout->addWidget(progressText_);
  progress_->hide();

  connect(addFiles, &QPushButton::clicked, this, &LibraryPanel::addFilesByDialog);
  connect(addFolder, &QPushButton::clicked, this, &LibraryPanel::addFolderByDialog);
  connect(remove, &QPushButton::clicked, this, [this] {
    if (!selectedPaths().isEmpty()) emit removeRequested(selectedPaths());
  });
  connect(cancel_, &QPushButton::clicked, this, [this] {
    cancel_->setEnabled(false);
    progressText_->setText(tr("Stopping after the current file…"));
    emit cancelRequested();
  });
  connect(table_, &QTableView::customContextMenuRequested, this, &LibraryPanel::showContextMenu);
}

QVector<long long> LibraryPanel::selectedDocumentIds() const {
  QVector<long long> ids;
  for (const QModelIndex& i : table_->selectionModel()->selectedRows()) ids.push_back(model_->entry(i.row()).id);
  return ids;
}

QStringList LibraryPanel::selectedPaths() const {
  QStringList paths;
  for (const QModelIndex& i : table_->selectionModel()->selectedRows()) paths << QString::fromStdString(model_->entry(i.row()).path);
  return paths;
}

void LibraryPanel::showProgress(int filesDone, int filesTotal, const QString& current) {
  progress_->show();
  cancel_->setEnabled(true);
  progress_->setRange(0, std::max(filesTotal, 1));
  progress_->setValue(filesDone);
  progressText_->setText(tr("Reading %1 of %2: %3").arg(filesDone + 1).arg(filesTotal).arg(current));
}

void LibraryPanel::ingestFinished(const QString& summary) {
  cancel_->setEnabled(false);
  progress_->hide();
  progressText_->setText(summary);
}

QStringList LibraryPanel::chooseFiles() {
  return QFileDialog::getOpenFileNames(this, tr("Add documents"), {},
                                       tr("Documents (*.pdf *.docx *.html *.htm *.md *.markdown *.txt);;All files (*)"));
}

void LibraryPanel::addFilesByDialog() {
  const QStringList files = chooseFiles();
  if (!files.isEmpty()) emit addRequested(files);
}

void LibraryPanel::addFolderByDialog() {
  const QString dir = QFileDialog::getExistingDirectory(this, tr("Add a folder"));
  if (!dir.isEmpty()) emit addRequested({dir});
}

void LibraryPanel::dragEnterEvent(QDragEnterEvent* event) {
  if (event->mimeData()->hasUrls()) event->acceptProposedAction();
}

void LibraryPanel::dropEvent(QDropEvent* event) {
  QStringList paths;
  for (const QUrl& url : event->mimeData()->urls()) {
    if (url.isLocalFile()) paths << url.toLocalFile();
  }
  if (!paths.isEmpty()) emit addRequested(paths);
  event->acceptProposedAction();
}

void LibraryPanel::showContextMenu(const QPoint& at) {
  const QModelIndex index = table_->indexAt(at);
  if (!index.isValid()) return;
  const hd::LibraryEntry& e = model_->entry(index.row());
  QMenu menu(this);
  QAction* summarize = menu.addAction(tr("&Summarize"));
  summarize->setEnabled(e.status != "failed");
  QAction* remove = menu.addAction(tr("&Remove from library"));
  QAction* chosen = menu.exec(table_->viewport()->mapToGlobal(at));
  if (chosen == summarize) emit summarizeRequested(e.id, QString::fromStdString(e.title));
  if (chosen == remove) emit removeRequested({QString::fromStdString(e.path)});
}
