#include "ui_types.h"

void registerUiTypes() {
  qRegisterMetaType<UiSource>();
  qRegisterMetaType<UiAnswer>();
  qRegisterMetaType<UiPassage>();
  qRegisterMetaType<UiLibrary>();
  qRegisterMetaType<UiModels>();
  qRegisterMetaType<UiSettings>();
  qRegisterMetaType<QVector<long long>>();
}
