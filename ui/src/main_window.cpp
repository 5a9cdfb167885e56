#include "main_window.h"

#include <QAction>
#include <QCloseEvent>
#include <QDesktopServices>
#include <QDir>
#include <QUrl>
#include <QFileDialog>
#include <QFileInfo>
#include <QInputDialog>
#include <QLabel>
#include <QMenuBar>
#include <QMessageBox>
#include <QSettings>
#include <QSplitter>
#include <QStatusBar>
#include <QTableView>

#include "chat_panel.h"
#include "engine_worker.h"
#include "hd/app/export_markdown.h"
#include "hd/app/version.h"
#include "ingest_worker.h"
#include "library_panel.h"
#include "settings_dialog.h"
#include "viewer_panel.h"

MainWindow::MainWindow(const QString& storeDir, const QString& modelsDir, QWidget* parent)
    : QMainWindow(parent), settings_(UiSettings::load(storeDir, modelsDir)) {
  registerUiTypes();
  setWindowTitle(QStringLiteral("HyenaDesk %1").arg(QString::fromUtf8(hd::version())));
  library_ = new LibraryPanel(this);
  chat_ = new ChatPanel(this);
  viewer_ = new ViewerPanel(this);
  auto* split = new QSplitter(this);
  split->setObjectName("mainSplitter");
  split->addWidget(library_);
  split->addWidget(chat_);
  split->addWidget(viewer_);
  split->setStretchFactor(0, 2);
  split->setStretchFactor(1, 3);
  split->setStretchFactor(2, 3);
  split->setSizes({420, 480, 380});
  setCentralWidget(split);

  job_ = new QLabel(tr("Ready"), this);
  job_->setObjectName("jobStatus");
  cache_ = new QLabel(this);
  cache_->setObjectName("cacheStatus");
  gpu_ = new QLabel(tr("GPU: …"), this);  // filled in by the engine thread (starting CUDA takes a while)
  gpu_->setObjectName("gpuStatus");
  statusBar()->addWidget(job_, 1);
  statusBar()->addPermanentWidget(cache_);
  statusBar()->addPermanentWidget(gpu_);

  // Workers: each on its own thread, below normal priority so the window stays responsive.
  ingestWorker_ = new IngestWorker(settings_.storeDir, settings_.modelsDir);
  engineWorker_ = new EngineWorker(settings_);
  ingestWorker_->moveToThread(&ingestThread_);
  engineWorker_->moveToThread(&engineThread_);
  ingestThread_.setObjectName("ingest");
  engineThread_.setObjectName("engine");
  connect(&ingestThread_, &QThread::finished, ingestWorker_, &QObject::deleteLater);
  connect(&engineThread_, &QThread::finished, engineWorker_, &QObject::deleteLater);
  ingestThread_.start(QThread::LowPriority);
  engineThread_.start(QThread::LowPriority);

  connect(this, &MainWindow::ingestRequested, ingestWorker_, &IngestWorker::ingest);
  connect(this, &MainWindow::removeRequested, ingestWorker_, &IngestWorker::remove);
  connect(this, &MainWindow::collectionRequested, ingestWorker_, &IngestWorker::addToCollection);
  connect(this, &MainWindow::removeCollectionRequested, ingestWorker_, &IngestWorker::removeCollection);
  connect(ingestWorker_, &IngestWorker::progress, library_, &LibraryPanel::showProgress);
  connect(ingestWorker_, &IngestWorker::progress, this,
          [this](int done, int total, const QString&) { setJob(tr("Reading documents: %1 of %2").arg(done).arg(total)); });
  connect(ingestWorker_, &IngestWorker::finished, this, [this](const QString& summary, bool cancelled) {
    library_->ingestFinished(summary);
    ingesting_ = false;
    setJob(summary);
    emit ingestDone(cancelled);
    if (!pendingIngest_.isEmpty()) startIngest(std::exchange(pendingIngest_, {}));
  });
  connect(ingestWorker_, &IngestWorker::libraryChanged, this, &MainWindow::libraryChanged);
  connect(ingestWorker_, &IngestWorker::failed, this, [this](const QString& m) { setJob(m); });
  connect(library_, &LibraryPanel::addRequested, this, [this](const QStringList& paths) { addPaths(paths); });
  connect(library_, &LibraryPanel::removeRequested, this, [this](const QStringList& paths) { emit removeRequested(paths); });
  connect(library_, &LibraryPanel::cancelRequested, this, [this] { ingestWorker_->cancel(); });
  connect(library_, &LibraryPanel::summarizeRequested, this, &MainWindow::summarizeDocument);

  connect(this, &MainWindow::askRequested, engineWorker_, &EngineWorker::ask);
  connect(this, &MainWindow::summarizeRequested, engineWorker_, &EngineWorker::summarize);
  connect(this, &MainWindow::locateRequested, engineWorker_, &EngineWorker::locate);
  connect(this, &MainWindow::exportRequested, engineWorker_, &EngineWorker::exportText);
  connect(this, &MainWindow::configureRequested, engineWorker_, &EngineWorker::configure);
  connect(engineWorker_, &EngineWorker::status, chat_, &ChatPanel::setModelStatus);
  connect(engineWorker_, &EngineWorker::token, chat_, &ChatPanel::appendToken);
  connect(engineWorker_, &EngineWorker::answered, this, [this](const UiAnswer& a) {
    chat_->showAnswer(a);
    answering_ = false;
    setJob(a.summary ? tr("Summary done") : tr("Answered"));
    emit answerDone();
  });
  connect(engineWorker_, &EngineWorker::failed, this, [this](const QString& m) {
    if (answering_) {
      chat_->showError(m);
      answering_ = false;
      emit answerDone();
    }
    setJob(m);
  });
  connect(engineWorker_, &EngineWorker::summaryProgress, this, [this](int done, int all, double, double left) {
    chat_->showSummaryProgress(done, all, left);
    setJob(tr("Summarizing: %1 of %2 sections read, about %3 s left").arg(done).arg(all).arg(left, 0, 'f', 0));
  });
  connect(engineWorker_, &EngineWorker::located, viewer_, &ViewerPanel::show);
  connect(this, &MainWindow::pageRequested, engineWorker_, &EngineWorker::renderPage);
  connect(viewer_, &ViewerPanel::pageRequested, this, &MainWindow::pageRequested);
  connect(engineWorker_, &EngineWorker::cacheUse, cache_, &QLabel::setText);
  connect(engineWorker_, &EngineWorker::gpuUse, gpu_, &QLabel::setText);
  connect(engineWorker_, &EngineWorker::modelsListed, this, [this](const UiModels& m) { models_ = m; });
  connect(chat_, &ChatPanel::askRequested, this, [this](const QString& q) {
    QVector<long long> ids;
    if (chat_->scope() == ChatPanel::SelectedDocuments) {
      ids = library_->selectedDocumentIds();
      if (ids.isEmpty()) {
        chat_->showError(tr("No document is selected in the library: select some, or ask all documents."));
        return;
      }
    }
    answering_ = true;
    setJob(tr("Answering…"));
    emit askRequested(q, ids, chat_->scopeCollection());
  });
  connect(chat_, &ChatPanel::stopRequested, this, [this] { engineWorker_->stop(); });
  connect(chat_, &ChatPanel::sourceOpened, this, [this](const UiSource& s) { emit locateRequested(s, viewer_->pageWidth()); });
  connect(chat_, &ChatPanel::exportRequested, this, &MainWindow::exportAnswer);
  connect(chat_, &ChatPanel::openModelsFolderRequested, this, [this] {
    QDir().mkpath(settings_.modelsDir);
    QDesktopServices::openUrl(QUrl::fromLocalFile(settings_.modelsDir));
  });

  connect(ingestWorker_, &IngestWorker::filesChanged, this, &MainWindow::startIngest);
  connect(engineWorker_, &EngineWorker::exported, this, [this](const QString& path) { setJob(tr("Exported to %1").arg(path)); });

  buildMenus();
  QSettings q;
  restoreGeometry(q.value("window/geometry").toByteArray());
  restoreState(q.value("window/state").toByteArray());
  split->restoreState(q.value("window/splitter").toByteArray());
  if (!q.contains("window/geometry")) resize(1280, 760);
  QMetaObject::invokeMethod(ingestWorker_, &IngestWorker::open, Qt::QueuedConnection);
  emit configureRequested(settings_);  // loads the model on the engine thread
}

MainWindow::~MainWindow() {
  ingestWorker_->cancel();
  engineWorker_->stop();
  ingestThread_.quit();
  engineThread_.quit();
  ingestThread_.wait();  // stops between files: nothing stored is lost
  engineThread_.wait();
}

void MainWindow::buildMenus() {
  QMenu* file = menuBar()->addMenu(tr("&File"));
  file->addAction(tr("Add &files…"), QKeySequence::Open, library_, &LibraryPanel::addFilesByDialog);
  file->addAction(tr("Add f&older…"), QKeySequence(tr("Ctrl+Shift+O")), library_, &LibraryPanel::addFolderByDialog);
  file->addAction(tr("Add files to a &collection…"), QKeySequence(tr("Ctrl+Shift+A")), this, &MainWindow::addFilesToCollection);
  file->addAction(tr("&Settings…"), QKeySequence(tr("Ctrl+,")), this, &MainWindow::openSettings);
  file->addSeparator();
  file->addAction(tr("&Quit"), QKeySequence::Quit, this, &QWidget::close);
  QMenu* docs = menuBar()->addMenu(tr("&Library"));
  docs->addAction(tr("&Summarize selected"), QKeySequence(tr("Ctrl+Shift+S")), this, [this] {
    const auto ids = library_->selectedDocumentIds();
    if (!ids.isEmpty()) summarizeDocument(ids.front(), library_->selectedPaths().front());
  });
  docs->addAction(tr("&Remove selected"), QKeySequence::Delete, this, [this] {
    if (!library_->selectedPaths().isEmpty()) emit removeRequested(library_->selectedPaths());
  });
  docs->addAction(tr("Remove a c&ollection…"), this, [this] {
    if (collections_.isEmpty()) return;
    bool ok = false;
    const QString name = QInputDialog::getItem(this, tr("Remove a collection"),
                                               tr("The collection and its documents leave the library (the files stay):"),
                                               collections_, 0, false, &ok);
    if (ok && !name.isEmpty()) emit removeCollectionRequested(name);
  });
  docs->addAction(tr("&Cancel reading"), QKeySequence(tr("Ctrl+.")), this, [this] { ingestWorker_->cancel(); });
  docs->addAction(tr("Go to the &library"), QKeySequence(tr("Ctrl+1")), this, [this] { library_->table()->setFocus(); });
  QMenu* chat = menuBar()->addMenu(tr("&Chat"));
  chat->addAction(tr("&Ask a question"), QKeySequence(tr("Ctrl+L")), chat_, &ChatPanel::focusQuestion);
  chat->addAction(tr("&Stop the answer"), QKeySequence(tr("Ctrl+Shift+X")), this, [this] { engineWorker_->stop(); });
}

void MainWindow::addPaths(const QStringList& paths, const QString& collection) {
  if (paths.isEmpty()) return;
  QStringList files;
  for (const QString& p : paths) {
    const QFileInfo info(p);
    if (info.isDir() && collection.isEmpty()) emit collectionRequested(info.fileName(), {info.absoluteFilePath()});
    else files << info.absoluteFilePath();
  }
  if (!files.isEmpty()) emit collectionRequested(collection.isEmpty() ? tr("Added files") : collection, files);
  startIngest(paths);
}

void MainWindow::startIngest(const QStringList& paths) {
  if (paths.isEmpty()) return;
  if (ingesting_) {  // one ingest at a time; this one follows
    for (const QString& p : paths) {
      if (!pendingIngest_.contains(p)) pendingIngest_ << p;
    }
    return;
  }
  ingesting_ = true;
  setJob(tr("Reading documents…"));
  emit ingestRequested(paths);
}

void MainWindow::addFilesToCollection() {
  bool ok = false;
  const QString name = QInputDialog::getItem(this, tr("Add files to a collection"),
                                             tr("Collection (pick one, or type a new name):"), collections_, 0, true, &ok)
                           .trimmed();
  if (!ok || name.isEmpty()) return;
  const QStringList files = library_->chooseFiles();
  if (!files.isEmpty()) addPaths(files, name);
}

void MainWindow::summarizeDocument(long long documentId, const QString& title) {
  if (answering_) return;
  answering_ = true;
  chat_->beginAnswer(tr("Summary of %1").arg(title));
  setJob(tr("Summarizing %1…").arg(title));
  emit summarizeRequested(documentId, QStringLiteral("medium"), title);
}

void MainWindow::libraryChanged(const UiLibrary& entries, const QStringList& collections) {
  library_->model()->setEntries(entries);
  chat_->setCollections(collections);
  collections_ = collections;
}

void MainWindow::openSettings() {
  SettingsDialog dialog(settings_, models_, this);
  if (dialog.exec() != QDialog::Accepted) return;
  settings_ = dialog.settings();
  settings_.save();
  setJob(tr("Loading the model…"));
  emit configureRequested(settings_);
}

void MainWindow::exportAnswer(const UiAnswer& answer) {
  const QString path = QFileDialog::getSaveFileName(this, tr("Export as Markdown"), QStringLiteral("answer.md"), tr("Markdown (*.md)"));
  if (!path.isEmpty()) exportAnswerTo(answer, path);
}

void MainWindow::exportAnswerTo(const UiAnswer& answer, const QString& path) {
  std::vector<hd::ExportSource> sources;
  for (const UiSource& s : answer.sources) {
    sources.push_back({s.number, s.title.toStdString(), s.path.toStdString(), s.section.toStdString(), s.quote.toStdString(),
                       s.pageFirst, s.pageLast});
  }
  const std::string heading = answer.question.isEmpty() ? "HyenaDesk" : answer.question.toStdString();
  emit exportRequested(path, QString::fromStdString(hd::answer_markdown(heading, answer.text.toStdString(), sources, answer.partial)));
}

void MainWindow::setJob(const QString& text) {
  // One line in the status bar (an error from SQLite can be pages long); all of it in the tooltip.
  const QString line = text.section('\n', 0, 0);
  job_->setText(line.size() > 160 ? line.left(157) + QStringLiteral("…") : line);
  job_->setToolTip(text);
}

void MainWindow::closeEvent(QCloseEvent* event) {
  QSettings q;
  q.setValue("window/geometry", saveGeometry());
  q.setValue("window/state", saveState());
  q.setValue("window/splitter", static_cast<QSplitter*>(centralWidget())->saveState());
  QMainWindow::closeEvent(event);
}
