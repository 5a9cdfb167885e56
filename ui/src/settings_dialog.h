#pragma once
// Settings: the models folder and the model (with what `hyenadesk models` says of each), device,
// context and answer budgets, the prefill cache's budget per tier, the embedder's device.
#include <QDialog>

#include <vector>

#include "hd/app/model_registry.h"
#include "settings.h"

class QComboBox;
class QLineEdit;
class QSpinBox;

class SettingsDialog : public QDialog {
  Q_OBJECT

 public:
  // `models`: the models folder's list as the engine thread read it (a folder picked here with
  // Browse… is listed on the spot: the person asked for it).
  SettingsDialog(const UiSettings& settings, std::vector<hd::InstalledModel> models, QWidget* parent = nullptr);
  UiSettings settings() const;

 private:
  void listModels();

  UiSettings base_;
  QLineEdit* modelsDir_;
  QComboBox* model_;
  QComboBox* device_;
  QComboBox* embedderDevice_;
  QSpinBox* context_;
  QSpinBox* answer_;
  QSpinBox* gpuCache_;
  QSpinBox* memoryCache_;
  QSpinBox* diskCache_;
  std::vector<hd::InstalledModel> models_;
};
