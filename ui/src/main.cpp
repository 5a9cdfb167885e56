// hyenadesk-gui: the desktop program.
//   --store DIR / --models DIR   override where data lives (defaults from hd::default_*_dir)
//   --smoke-test                 open the window, report it on stdout, and quit (used by CTest)
//   --screenshot FILE            with --smoke-test: save the window as a PNG first
#include <QApplication>
#include <QCommandLineParser>
#include <QTableView>
#include <QTimer>
#include <cstdio>

#include "hd/app/paths.h"
#include "hd/app/version.h"
#include "main_window.h"

int main(int argc, char** argv) {
  QApplication app(argc, argv);
  QApplication::setOrganizationName(QStringLiteral("HyenaDesk"));
  QApplication::setApplicationName(QStringLiteral("HyenaDesk"));
  QApplication::setApplicationVersion(QString::fromUtf8(hd::version()));

  QCommandLineParser parser;
  parser.setApplicationDescription(QStringLiteral("Desktop assistant for long documents"));
  parser.addHelpOption();
  parser.addVersionOption();
  QCommandLineOption storeOption(QStringLiteral("store"), QStringLiteral("Store folder."), QStringLiteral("dir"),
                                 QString::fromStdString(hd::default_store_dir().string()));
  QCommandLineOption modelsOption(QStringLiteral("models"), QStringLiteral("Models folder (default: the saved one)."),
                                  QStringLiteral("dir"));
  QCommandLineOption smokeOption(QStringLiteral("smoke-test"), QStringLiteral("Open the window, print what it shows, and quit."));
  QCommandLineOption shotOption(QStringLiteral("screenshot"), QStringLiteral("With --smoke-test, save the window as PNG."),
                                QStringLiteral("file"));
  parser.addOptions({storeOption, modelsOption, smokeOption, shotOption});
  parser.process(app);

  MainWindow window(parser.value(storeOption), parser.value(modelsOption));
  window.show();

  if (parser.isSet(smokeOption)) {
    // Report once the event loop has shown the window, then close it as a user would.
    QTimer::singleShot(500, &window, [&window, &parser, &shotOption]() {
      bool saved = true;
      if (parser.isSet(shotOption)) saved = window.grab().save(parser.value(shotOption));
      std::printf("window shown: %s, visible=%d, library=%s, screenshot=%s\n", window.windowTitle().toUtf8().constData(),
                  window.isVisible() ? 1 : 0, window.findChild<QTableView*>(QStringLiteral("libraryTable")) ? "shown" : "missing",
                  parser.isSet(shotOption) ? (saved ? "saved" : "FAILED") : "none");
      std::fflush(stdout);
      window.close();
    });
  }
  return QApplication::exec();
}
