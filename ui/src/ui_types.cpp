#include "ui_types.h"

void registerUiTypes() {
  qRegisterMetaType<UiSource>();
  qRegisterMetaType<UiAnswer>();
  qRegisterMetaType<UiPassage>();
  qRegisterMetaType<UiLibrary>();
  qRegisterMetaType<UiSettings>();
  qRegisterMetaType<QVector<long long>>();
}
