#include "main_window.h"

#include <QFormLayout>
#include <QLabel>
#include <QPushButton>
#include <QVBoxLayout>

#include "hd/app/build_info.h"
#include "hd/app/version.h"

MainWindow::MainWindow(const QString& storeDir, const QString& modelsDir, QWidget* parent) : QMainWindow(parent) {
  setWindowTitle(QStringLiteral("HyenaDesk %1").arg(QString::fromUtf8(hd::version())));
  auto* central = new QWidget(this);
  auto* layout = new QVBoxLayout(central);

  auto* title = new QLabel(QStringLiteral("<h2>HyenaDesk %1</h2>").arg(QString::fromUtf8(hd::version())), central);
  layout->addWidget(title);

  auto* form = new QFormLayout();
  auto* store = new QLabel(storeDir, central);
  store->setObjectName(QStringLiteral("storePath"));
  store->setTextInteractionFlags(Qt::TextSelectableByMouse);
  auto* models = new QLabel(modelsDir, central);
  models->setObjectName(QStringLiteral("modelsPath"));
  models->setTextInteractionFlags(Qt::TextSelectableByMouse);
  form->addRow(QStringLiteral("Store:"), store);
  form->addRow(QStringLiteral("Models:"), models);
  layout->addLayout(form);

  auto* build = new QLabel(QString::fromStdString(hd::build_info_text()).toHtmlEscaped().replace('\n', "<br>"),
                           central);
  build->setTextFormat(Qt::RichText);
  layout->addWidget(build);

  auto* close = new QPushButton(QStringLiteral("Close"), central);
  connect(close, &QPushButton::clicked, this, &QWidget::close);
  layout->addWidget(close, 0, Qt::AlignRight);

  setCentralWidget(central);
  resize(640, 300);
}
