#pragma once
// The main window. For now it shows what the program is and where it keeps its data;
// the document list, chat and summaries come with the UI issue.
#include <QMainWindow>
#include <QString>

class MainWindow : public QMainWindow {
  Q_OBJECT

 public:
  MainWindow(const QString& storeDir, const QString& modelsDir, QWidget* parent = nullptr);
};
