// The desktop app end to end, with real widgets, a real store and a real model (the default,
// Qwen2.5-Coder-1.5B, installed by scripts/setup --models ci), under QT_QPA_PLATFORM=offscreen: add the samples and a broken file,
// ingest with progress, ask, watch the answer stream, open a cited PDF page in the viewer; cancel an
// ingest midway and resume it; stop a summary and keep what was written. A watchdog timer on the UI
// thread checks that the window never stalls for more than 100 ms while ingest and generation run.
// Screenshots of each main screen go to the build folder (ui-screenshots/).
#include <QAccessible>
#include <QAbstractSpinBox>
#include <QApplication>
#include <QFileDialog>
#include <QMenu>
#include <QMenuBar>
#include <QComboBox>
#include <QDir>
#include <QElapsedTimer>
#include <QFile>
#include <QSemaphore>
#include <atomic>
#include <QLabel>
#include <QLineEdit>
#include <QListWidget>
#include <QProgressBar>
#include <QPushButton>
#include <QSettings>
#include <QSignalSpy>
#include <QStandardPaths>
#include <QTableView>
#include <QTemporaryDir>
#include <QTest>
#include <QTimer>

#include "chat_panel.h"
#include "ingest_worker.h"
#include "library_panel.h"
#include "main_window.h"
#include "settings_dialog.h"
#include "viewer_panel.h"

namespace {

// Measures the longest gap between ticks of a 10 ms timer on the UI thread.
// The test's own screenshots (QWidget::grab renders the whole window) pause it.
class Watchdog : public QObject {
 public:
  Watchdog() {
    timer_.setInterval(10);
    QObject::connect(&timer_, &QTimer::timeout, this, [this] {
      if (clock_.isValid()) worst_ = std::max(worst_, clock_.restart());
      else clock_.start();
    });
    timer_.start();
  }
  void pause() {
    timer_.stop();
    clock_.invalidate();
  }
  void resume() { timer_.start(); }
  qint64 worstMs() const { return worst_; }

 private:
  QTimer timer_;
  QElapsedTimer clock_;
  qint64 worst_ = 0;
};

QString installedModels() {
  const QByteArray env = qgetenv("HD_MODELS_DIR");
  return env.isEmpty() ? QString::fromUtf8(HD_MODELS_DIR_DEFAULT) : QString::fromUtf8(env);
}

}  // namespace

class DesktopAppTest : public QObject {
  Q_OBJECT

 private:
  QTemporaryDir work_;
  QString models_, docs_;

  // Clicks Export…, answers the save dialog with `path` as a user would, waits for the file and
  // leaves its text in `markdown`.
  void exportThroughTheDialog(MainWindow& w, const QString& path, QString& markdown) {
    QTimer answerDialog;
    answerDialog.setInterval(50);
    QString seen;
    connect(&answerDialog, &QTimer::timeout, this, [&] {
      QWidget* modal = QApplication::activeModalWidget();
      if (modal) seen = QString::fromUtf8(modal->metaObject()->className());
      if (auto* dialog = qobject_cast<QFileDialog*>(modal)) {
        answerDialog.stop();
        auto* name = dialog->findChild<QLineEdit*>("fileNameEdit");  // where a user types the name
        if (!name) return;
        name->setText(path);
        QMetaObject::invokeMethod(dialog, &QDialog::accept);  // what the Save button does
        seen += " chose " + dialog->selectedFiles().join(",");
      }
    });
    answerDialog.start();
    auto* button = w.findChild<QPushButton*>("exportButton");
    QVERIFY(button->isEnabled());
    QTest::mouseClick(button, Qt::LeftButton);
    QTRY_VERIFY2_WITH_TIMEOUT(QFile::exists(path), qPrintable("no file; the modal widget seen: " + seen), 10000);
    QFile file(path);
    QVERIFY(file.open(QIODevice::ReadOnly));
    markdown = QString::fromUtf8(file.readAll());
  }

  void shoot(QWidget& w, const QString& name, Watchdog* watchdog = nullptr) {
    if (watchdog) watchdog->pause();
    QDir().mkpath(QStringLiteral(HD_UI_SCREENSHOTS));
    QVERIFY(w.grab().save(QStringLiteral(HD_UI_SCREENSHOTS "/%1.png").arg(name)));
    if (watchdog) watchdog->resume();
  }

 private slots:
  void initTestCase() {
    QStandardPaths::setTestModeEnabled(true);  // QSettings of the test, not the user's
    QApplication::setAttribute(Qt::AA_DontUseNativeDialogs);  // Qt's own save dialog, which the test can answer
    QSettings().clear();
    QSettings().setValue("engine/cpuThreads", 1);  // one core for the model, one for the window
    QSettings().setValue("engine/answerTokens", 48);
    // A models folder holding the default answer model and the embedder (links to what setup
    // installed). SmolLM2-135M would stream as well, but its answers rarely match a passage closely
    // enough to be cited, and the test opens a citation.
    models_ = work_.filePath("models");
    QDir().mkpath(models_);
    const QString installed = installedModels(), model = QStringLiteral("qwen2.5-coder-1.5b-instruct");
    QVERIFY2(QFile::exists(installed + "/" + model + "/model.safetensors"), "run scripts/setup --models ci");
    QVERIFY(QFile::link(installed + "/" + model, models_ + "/" + model));
    QVERIFY(QFile::link(installed + "/all-minilm-l6-v2", models_ + "/all-minilm-l6-v2"));
    QFile def(models_ + "/default-model");
    QVERIFY(def.open(QIODevice::WriteOnly));
    def.write(model.toUtf8() + "\n");
    def.close();
    // The samples and a broken PDF.
    docs_ = work_.filePath("docs");
    QDir().mkpath(docs_);
    for (const QString& f : QDir(QStringLiteral(HD_SOURCE_DIR "/samples")).entryList(QDir::Files)) {
      QVERIFY(QFile::copy(QStringLiteral(HD_SOURCE_DIR "/samples/") + f, docs_ + "/" + f));
    }
    QFile broken(docs_ + "/broken.pdf");
    QVERIFY(broken.open(QIODevice::WriteOnly));
    broken.write("%PDF-1.4\nnot really a pdf");
  }

  void addAskOpenTheCitedPage() {
    MainWindow w(work_.filePath("store"), models_);
    w.show();
    Watchdog watchdog;
    QSignalSpy ingested(&w, &MainWindow::ingestDone);
    w.addPaths({docs_});
    QVERIFY(ingested.wait(300000));
    QCOMPARE(ingested.front().front().toBool(), false);
    auto* table = w.findChild<QTableView*>("libraryTable");
    QTRY_COMPARE_WITH_TIMEOUT(table->model()->rowCount(), 7, 10000);  // six samples and the broken PDF
    bool brokenShown = false;
    for (int r = 0; r < table->model()->rowCount(); ++r) {
      const QString status = table->model()->index(r, LibraryModel::Status).data().toString();
      brokenShown = brokenShown || status.contains("not a readable PDF");
    }
    QVERIFY2(brokenShown, "the broken file shows its reason in the library");
    shoot(w, "library", &watchdog);

    // Ask about the PDF only: select it, scope "Selected documents".
    for (int r = 0; r < table->model()->rowCount(); ++r) {
      if (table->model()->index(r, LibraryModel::Format).data().toString() == "pdf" &&
          table->model()->index(r, LibraryModel::Status).data().toString() == "indexed") {
        table->selectRow(r);
      }
    }
    w.findChild<QComboBox*>("scope")->setCurrentIndex(ChatPanel::SelectedDocuments);
    QSignalSpy answered(&w, &MainWindow::answerDone);
    QTest::keyClicks(w.findChild<QLineEdit*>("question"), "How long did prefill of 131072 tokens take on the H100?");
    QTest::mouseClick(w.findChild<QPushButton*>("askButton"), Qt::LeftButton);
    QVERIFY(answered.wait(300000));
    QVERIFY2(w.chat()->piecesShown() > 1, "the answer streams piece by piece");
    QVERIFY(!w.chat()->lastAnswer().text.isEmpty());
    shoot(w, "answer", &watchdog);
    const auto& sources = w.chat()->lastAnswer().sources;
    QVERIFY2(!sources.isEmpty(), "the answer cites a passage");
    QVERIFY2(sources.front().pageFirst > 0, "a PDF passage has its page");
    auto* list = w.findChild<QListWidget*>("sources");
    QVERIFY(list->item(0)->text().contains(QStringLiteral("p. %1").arg(sources.front().pageFirst)));
    emit list->itemActivated(list->item(0));
    QTRY_COMPARE_WITH_TIMEOUT(w.viewer()->currentPage(), sources.front().pageFirst, 30000);
    QVERIFY2(w.viewer()->highlightedBoxes() > 0, "the quoted sentence is highlighted on the page");
    shoot(w, "viewer", &watchdog);
    QVERIFY2(watchdog.worstMs() < 100, qPrintable(QStringLiteral("the window stalled for %1 ms").arg(watchdog.worstMs())));
  }

  void cancelAnIngestMidwayAndResume() {
    const QString many = work_.filePath("many");
    QDir().mkpath(many);
    for (int i = 0; i < 40; ++i) {
      QFile f(QStringLiteral("%1/note-%2.md").arg(many).arg(i, 2, 10, QChar('0')));
      QVERIFY(f.open(QIODevice::WriteOnly));
      f.write(QStringLiteral("# Note %1\n\nThe valve in room %1 was checked on day %2.\n").arg(i).arg(i * 3).toUtf8());
    }
    MainWindow w(work_.filePath("store-many"), models_);
    w.show();
    QSignalSpy ingested(&w, &MainWindow::ingestDone);
    auto* cancel = w.findChild<QPushButton*>("cancelIngest");
    // The ingest thread is held at its sixth file until Cancel has been clicked, so the cancel lands
    // midway whatever the machine's speed.
    QSemaphore reached, clicked;
    std::atomic<bool> held{false};
    connect(w.ingestWorker(), &IngestWorker::progress, this, [&](int done, int, const QString&) {
      if (done == 5 && !held.exchange(true)) {
        reached.release();
        clicked.acquire();
      }
    }, Qt::DirectConnection);
    w.addPaths({many});
    QVERIFY(reached.tryAcquire(1, 120000));
    QTRY_VERIFY_WITH_TIMEOUT(cancel->isEnabled(), 10000);
    QTest::mouseClick(cancel, Qt::LeftButton);
    clicked.release();
    QVERIFY(ingested.wait(120000));
    QCOMPARE(ingested.takeFirst().front().toBool(), true);
    auto* table = w.findChild<QTableView*>("libraryTable");
    QTRY_VERIFY_WITH_TIMEOUT(table->model()->rowCount() > 0, 10000);
    // Cancel reaches inside the sixth file, held as it started: nothing of it is stored.
    QCOMPARE(table->model()->rowCount(), 5);
    w.addPaths({many});  // resume: what was stored is kept, the rest is read
    QVERIFY(ingested.wait(300000));
    QCOMPARE(ingested.takeFirst().front().toBool(), false);
    QTRY_COMPARE_WITH_TIMEOUT(table->model()->rowCount(), 40, 10000);
  }

  void aWatchedFolderIsReadAgainWhenItChanges() {
    const QString watched = work_.filePath("watched");
    QDir().mkpath(watched + "/sub");
    auto write = [&](const QString& name, const QString& text) {
      QFile f(watched + "/" + name);
      QVERIFY(f.open(QIODevice::WriteOnly));  // in place: same file, new content
      f.write(text.toUtf8());
    };
    write("a.md", "# A\n\nThe first note.\n");
    write("sub/old.md", "# Old\n\nA note in a subfolder.\n");
    MainWindow w(work_.filePath("store-watched"), models_);
    w.show();
    QSignalSpy ingested(&w, &MainWindow::ingestDone);
    w.addPaths({watched});
    QVERIFY(ingested.wait(120000));
    auto* table = w.findChild<QTableView*>("libraryTable");
    QTRY_COMPARE_WITH_TIMEOUT(table->model()->rowCount(), 2, 10000);
    auto titles = [&] {
      QStringList t;
      for (int r = 0; r < table->model()->rowCount(); ++r) t << table->model()->index(r, LibraryModel::Title).data().toString();
      t.sort();
      return t;
    };
    write("sub/b.md", "# B\n\nA second note, added to a subfolder while the app runs.\n");
    QVERIFY2(ingested.wait(60000), "a subfolder is watched too");
    QTRY_COMPARE_WITH_TIMEOUT(titles(), (QStringList{"A", "B", "Old"}), 10000);
    write("a.md", "# A, revised\n\nThe first note, rewritten in place.\n");
    QVERIFY2(ingested.wait(60000), "a file rewritten in place is read again");
    QTRY_COMPARE_WITH_TIMEOUT(titles(), (QStringList{"A, revised", "B", "Old"}), 10000);
    QVERIFY(QFile::remove(watched + "/sub/old.md"));
    QVERIFY2(ingested.wait(60000), "a deleted file is noticed");
    QTRY_COMPARE_WITH_TIMEOUT(titles(), (QStringList{"A, revised", "B"}), 10000);
  }

  void filesGoIntoANamedCollectionThatScopesQuestions() {
    const QString loose = work_.filePath("loose");
    QDir().mkpath(loose);
    for (const QString& name : {QStringLiteral("pump.md"), QStringLiteral("valve.md")}) {
      QFile f(loose + "/" + name);
      QVERIFY(f.open(QIODevice::WriteOnly));
      f.write(QStringLiteral("# %1\n\nThe %1 in hall 2 was serviced on Monday.\n").arg(name.chopped(3)).toUtf8());
    }
    MainWindow w(work_.filePath("store-loose"), models_);
    w.show();
    QSignalSpy ingested(&w, &MainWindow::ingestDone);
    w.addPaths({loose + "/pump.md", loose + "/valve.md"}, "Maintenance");
    QVERIFY(ingested.wait(120000));
    auto* scope = w.findChild<QComboBox*>("scope");
    QTRY_VERIFY_WITH_TIMEOUT(scope->findText("Maintenance", Qt::MatchContains) >= 0, 10000);
  }

  void withoutAModelItSaysSoAndAnswersExtractively() {
    const QString empty = work_.filePath("no-models");
    QDir().mkpath(empty);
    QVERIFY(QFile::link(installedModels() + "/all-minilm-l6-v2", empty + "/all-minilm-l6-v2"));
    MainWindow w(work_.filePath("store"), empty);  // the store of the first test
    w.show();
    auto* open = w.findChild<QPushButton*>("openModelsFolder");
    QTRY_VERIFY_WITH_TIMEOUT(open->isVisible(), 30000);
    QVERIFY(w.findChild<QLabel*>("modelStatus")->text().contains("No language model"));
    QSignalSpy answered(&w, &MainWindow::answerDone);
    QTest::keyClicks(w.findChild<QLineEdit*>("question"), "How big is the inference cache at 128k tokens?");
    QTest::keyClick(w.findChild<QLineEdit*>("question"), Qt::Key_Return);
    QVERIFY(answered.wait(120000));
    QVERIFY(w.chat()->lastAnswer().extractive);
    QVERIFY(!w.chat()->lastAnswer().sources.isEmpty());
    shoot(w, "no-model");

    // A Markdown source opens laid out as written, the quoted sentence found and highlighted there.
    auto* table = w.findChild<QTableView*>("libraryTable");
    for (int r = 0; r < table->model()->rowCount(); ++r) {
      if (table->model()->index(r, LibraryModel::Format).data().toString() == "markdown" &&
          table->model()->index(r, LibraryModel::Title).data().toString().contains("Hyena")) {
        table->selectRow(r);
      }
    }
    w.findChild<QComboBox*>("scope")->setCurrentIndex(ChatPanel::SelectedDocuments);
    QTest::keyClicks(w.findChild<QLineEdit*>("question"), "Does the recurrent state grow with the length of the document?");
    QTest::keyClick(w.findChild<QLineEdit*>("question"), Qt::Key_Return);
    QVERIFY(answered.wait(120000));
    QVERIFY(!w.chat()->lastAnswer().sources.isEmpty());
    QVERIFY(w.chat()->lastAnswer().sources.front().path.endsWith("hyena-filters.md"));
    auto* list = w.findChild<QListWidget*>("sources");
    emit list->itemActivated(list->item(0));
    QTRY_VERIFY_WITH_TIMEOUT(w.viewer()->shownPath().endsWith("hyena-filters.md"), 30000);
    QVERIFY2(w.viewer()->laidOut(), "Markdown is shown as written, not as stored text");
    QCOMPARE(w.viewer()->highlightedBoxes(), 1);
    shoot(w, "viewer-markdown");
  }

  void everyControlHasANameAndTheWholeFlowRunsFromTheKeyboard() {
    const QString empty = work_.filePath("no-models-keys");
    QDir().mkpath(empty);
    QVERIFY(QFile::link(installedModels() + "/all-minilm-l6-v2", empty + "/all-minilm-l6-v2"));
    MainWindow w(work_.filePath("store"), empty);  // the store of the first test, answered extractively
    w.show();
    QApplication::setActiveWindow(&w);
    QVERIFY(QTest::qWaitForWindowActive(&w));
    // Accessible names and keyboard focus on every control a user operates.
    auto isControl = [](QWidget* c) {
      return c && (qobject_cast<QAbstractButton*>(c) || qobject_cast<QLineEdit*>(c) || qobject_cast<QComboBox*>(c) ||
                   qobject_cast<QAbstractItemView*>(c) || qobject_cast<QAbstractSpinBox*>(c));
    };
    for (QWidget* c : w.findChildren<QWidget*>()) {
      if (!c->isVisibleTo(&w)) continue;  // e.g. the menu bar's overflow button, shown only when menus do not fit
      // A control's own parts (a table's headers, a spin box's line edit) are named by the control.
      if (!isControl(c) || isControl(c->parentWidget()) || isControl(c->parentWidget() ? c->parentWidget()->parentWidget() : nullptr)) continue;
      QAccessibleInterface* a = QAccessible::queryAccessibleInterface(c);
      QVERIFY2(a && !a->text(QAccessible::Name).trimmed().isEmpty(), qPrintable(c->objectName() + " has no accessible name"));
      QVERIFY2(c->focusPolicy() & Qt::TabFocus, qPrintable(c->objectName() + " cannot be reached with Tab"));
    }
    // Every menu action has a shortcut or a mnemonic.
    for (QMenu* menu : w.menuBar()->findChildren<QMenu*>()) {
      for (QAction* action : menu->actions()) {
        if (action->isSeparator()) continue;
        QVERIFY2(!action->shortcut().isEmpty() || action->text().contains('&'), qPrintable(action->text()));
      }
    }
    auto* table = w.findChild<QTableView*>("libraryTable");
    QTRY_COMPARE_WITH_TIMEOUT(table->model()->rowCount(), 7, 30000);
    QTest::keyClick(&w, Qt::Key_1, Qt::ControlModifier);
    QTRY_VERIFY(table->hasFocus());
    QTest::keyClick(&w, Qt::Key_L, Qt::ControlModifier);
    auto* question = w.findChild<QLineEdit*>("question");
    QTRY_VERIFY(question->hasFocus());
    QSignalSpy answered(&w, &MainWindow::answerDone);
    QTest::keyClicks(question, "How long did prefill of 131072 tokens take on the H100?");
    QTest::keyClick(question, Qt::Key_Return);
    QVERIFY(answered.wait(120000));
    auto* sources = w.findChild<QListWidget*>("sources");
    QVERIFY(sources->count() > 0);
    int pdfRow = -1;
    for (int i = 0; i < w.chat()->lastAnswer().sources.size() && pdfRow < 0; ++i) {
      if (w.chat()->lastAnswer().sources[i].pageFirst > 0) pdfRow = i;
    }
    QVERIFY2(pdfRow >= 0, "a PDF page is among the sources");
    QStringList path;
    for (int i = 0; i < 30 && !sources->hasFocus(); ++i) {
      QTest::keyClick(QApplication::focusWidget(), Qt::Key_Tab);
      path << (QApplication::focusWidget() ? QApplication::focusWidget()->objectName() : QStringLiteral("(none)"));
    }
    QVERIFY2(sources->hasFocus(), qPrintable("Tab reaches the sources; it went " + path.join(" > ")));
    QTest::keyClick(sources, Qt::Key_Home);
    for (int i = 0; i < pdfRow; ++i) QTest::keyClick(sources, Qt::Key_Down);
    QTest::keyClick(sources, Qt::Key_Return);
    QTRY_COMPARE_WITH_TIMEOUT(w.viewer()->currentPage(), w.chat()->lastAnswer().sources[pdfRow].pageFirst, 30000);

    // Export the answer: the question as its heading, the sources with their pages.
    QString markdown;
    exportThroughTheDialog(w, work_.filePath("answer.md"), markdown);
    if (QTest::currentTestFailed()) return;
    QVERIFY2(markdown.startsWith("# How long did prefill of 131072 tokens take on the H100?"), qPrintable(markdown.left(200)));
    QVERIFY2(markdown.contains(QStringLiteral(", p. %1").arg(w.chat()->lastAnswer().sources[pdfRow].pageFirst)), qPrintable(markdown));
  }

  void theWindowComesBackAsItWasLeft() {
    const QString empty = work_.filePath("no-models");  // made by the extractive test
    {
      MainWindow w(work_.filePath("store"), empty);
      w.show();
      w.resize(1011, 633);
      QTRY_COMPARE(w.size(), QSize(1011, 633));
      w.close();
    }
    MainWindow again(work_.filePath("store"), empty);
    again.show();
    QTRY_COMPARE(again.size(), QSize(1011, 633));
  }

  void settingsListTheModelsWithTheirFactsAndKeepWhatWasChosen() {
    UiSettings before = UiSettings::load(work_.filePath("store"), models_);
    SettingsDialog dialog(before, hd::list_models(models_.toStdString()));
    auto* picker = dialog.findChild<QComboBox*>("modelPicker");
    QVERIFY(picker);
    QCOMPARE(picker->count(), 2);  // the folder's default, and the one model
    QVERIFY2(picker->itemText(1).contains("qwen2.5-coder-1.5b-instruct") && picker->itemText(1).contains("chatml") &&
                 picker->itemText(1).contains("byte-level BPE"),
             qPrintable(picker->itemText(1)));
    picker->setCurrentIndex(1);
    const UiSettings chosen = dialog.settings();
    QCOMPARE(chosen.model, QStringLiteral("qwen2.5-coder-1.5b-instruct"));
    chosen.save();
    QCOMPARE(UiSettings::load(work_.filePath("store"), models_).model, chosen.model);
    before.save();  // the other tests use the folder's default
  }

  void stopASummaryAndKeepWhatWasWritten() {
    MainWindow w(work_.filePath("store"), models_);  // the store of the first test
    w.show();
    auto* table = w.findChild<QTableView*>("libraryTable");
    QTRY_COMPARE_WITH_TIMEOUT(table->model()->rowCount(), 7, 30000);
    long long id = 0;
    for (int r = 0; r < table->model()->rowCount(); ++r) {
      if (table->model()->index(r, LibraryModel::Title).data().toString().contains("Hyena")) id = w.library()->model()->entry(r).id;
    }
    QVERIFY(id > 0);
    Watchdog watchdog;
    QSignalSpy answered(&w, &MainWindow::answerDone);
    w.summarizeDocument(id, "hyena-filters.md");
    auto* progress = w.findChild<QProgressBar*>("summaryProgress");
    QTRY_VERIFY_WITH_TIMEOUT(progress->isVisible(), 60000);
    QVERIFY2(progress->text().contains("section 1 of"), qPrintable(progress->text()));
    QTRY_VERIFY_WITH_TIMEOUT(w.chat()->piecesShown() >= 3, 300000);
    QTest::mouseClick(w.findChild<QPushButton*>("stopButton"), Qt::LeftButton);
    QVERIFY(answered.wait(120000));
    QVERIFY2(w.chat()->lastAnswer().partial, "a stopped summary says so");
    QVERIFY(!w.chat()->lastAnswer().text.isEmpty());
    shoot(w, "summary", &watchdog);
    QVERIFY2(watchdog.worstMs() < 100, qPrintable(QStringLiteral("the window stalled for %1 ms").arg(watchdog.worstMs())));

    QString markdown;
    exportThroughTheDialog(w, work_.filePath("summary.md"), markdown);
    if (QTest::currentTestFailed()) return;
    QVERIFY2(markdown.startsWith("# Summary of hyena-filters.md"), qPrintable(markdown.left(200)));
    QVERIFY(markdown.contains(w.chat()->lastAnswer().text.left(40)));
    QVERIFY2(markdown.contains("Stopped before the end"), "a stopped summary says so in the file too");
  }
};

QTEST_MAIN(DesktopAppTest)
#include "desktop_app_test.moc"
