#include "settings_dialog.h"

#include <QComboBox>
#include <QDesktopServices>
#include <QDialogButtonBox>
#include <QFileDialog>
#include <QFormLayout>
#include <QHBoxLayout>
#include <QLineEdit>
#include <QPushButton>
#include <QSpinBox>
#include <QUrl>


namespace {
QSpinBox* spin(QWidget* parent, int max, int value, const QString& suffix, const QString& name) {
  auto* s = new QSpinBox(parent);
  s->setRange(0, max);
  s->setValue(value);
  s->setSuffix(suffix);
  s->setAccessibleName(name);
  return s;
}
}  // namespace

SettingsDialog::SettingsDialog(const UiSettings& settings, std::vector<hd::InstalledModel> models, QWidget* parent)
    : QDialog(parent), base_(settings) {
  models_ = std::move(models);
  setWindowTitle(tr("Settings"));
  auto* form = new QFormLayout(this);
  auto* folderRow = new QHBoxLayout();
  modelsDir_ = new QLineEdit(settings.modelsDir, this);
  modelsDir_->setAccessibleName(tr("Models folder"));
  auto* browse = new QPushButton(tr("Browse…"), this);
  auto* open = new QPushButton(tr("Open models folder"), this);
  open->setObjectName("openModelsFolder");
  folderRow->addWidget(modelsDir_, 1);
  folderRow->addWidget(browse);
  folderRow->addWidget(open);
  form->addRow(tr("Models &folder:"), folderRow);
  model_ = new QComboBox(this);
  model_->setObjectName("modelPicker");
  model_->setAccessibleName(tr("Language model"));
  form->addRow(tr("&Model:"), model_);
  device_ = new QComboBox(this);
  device_->addItems({"auto", "cpu", "cuda"});
  device_->setCurrentText(settings.device);
  device_->setAccessibleName(tr("Device for the model"));
  form->addRow(tr("&Device:"), device_);
  embedderDevice_ = new QComboBox(this);
  embedderDevice_->addItems({"cpu", "auto", "cuda"});
  embedderDevice_->setCurrentText(settings.embedderDevice);
  embedderDevice_->setAccessibleName(tr("Device for the embedding model"));
  form->addRow(tr("&Embedding device:"), embedderDevice_);
  context_ = spin(this, 131072, settings.contextBudget, tr(" tokens"), tr("Context budget for documents"));
  context_->setSpecialValueText(tr("the model's context"));
  form->addRow(tr("&Context for documents:"), context_);
  answer_ = spin(this, 8192, settings.answerTokens, tr(" tokens"), tr("Longest answer"));
  form->addRow(tr("&Longest answer:"), answer_);
  gpuCache_ = spin(this, 1 << 20, settings.gpuCacheMb, tr(" MB"), tr("Prefill cache in GPU memory"));
  memoryCache_ = spin(this, 1 << 20, settings.memoryCacheMb, tr(" MB"), tr("Prefill cache in host memory"));
  diskCache_ = spin(this, 1 << 24, settings.diskCacheMb, tr(" MB"), tr("Prefill cache on disk"));
  form->addRow(tr("Cache on the &GPU:"), gpuCache_);
  form->addRow(tr("Cache in &memory:"), memoryCache_);
  form->addRow(tr("Cache on d&isk:"), diskCache_);
  auto* buttons = new QDialogButtonBox(QDialogButtonBox::Ok | QDialogButtonBox::Cancel, this);
  form->addRow(buttons);

  connect(buttons, &QDialogButtonBox::accepted, this, &QDialog::accept);
  connect(buttons, &QDialogButtonBox::rejected, this, &QDialog::reject);
  connect(browse, &QPushButton::clicked, this, [this] {
    const QString dir = QFileDialog::getExistingDirectory(this, tr("Models folder"), modelsDir_->text());
    if (!dir.isEmpty()) {
      modelsDir_->setText(dir);
      models_ = hd::list_models(dir.toStdString());
      listModels();
    }
  });
  connect(open, &QPushButton::clicked, this, [this] { QDesktopServices::openUrl(QUrl::fromLocalFile(modelsDir_->text())); });
  listModels();
}

void SettingsDialog::listModels() {
  model_->clear();
  model_->addItem(tr("the folder's default"), QString());
  for (const hd::InstalledModel& m : models_) {
    QString label = QStringLiteral("%1 — %2, %3 M parameters, context %4, %5, %6")
                        .arg(QString::fromStdString(m.name), QString::fromStdString(m.layer_pattern))
                        .arg(m.parameters / 1000000)
                        .arg(m.config.max_seqlen)
                        .arg(QString::fromStdString(m.tokenizer), QString::fromStdString(m.chat_template));
    if (m.random_weights) label += tr(" (random weights: not for answers)");
    if (!m.problem.empty()) label += tr(" — unusable: %1").arg(QString::fromStdString(m.problem));
    model_->addItem(label, QString::fromStdString(m.name));
  }
  model_->setCurrentIndex(std::max(0, model_->findData(base_.model)));
}

UiSettings SettingsDialog::settings() const {
  UiSettings s = base_;
  s.modelsDir = modelsDir_->text();
  s.model = model_->currentData().toString();
  s.device = device_->currentText();
  s.embedderDevice = embedderDevice_->currentText();
  s.contextBudget = context_->value();
  s.answerTokens = answer_->value();
  s.gpuCacheMb = gpuCache_->value();
  s.memoryCacheMb = memoryCache_->value();
  s.diskCacheMb = diskCache_->value();
  return s;
}
