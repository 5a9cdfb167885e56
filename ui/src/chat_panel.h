#pragma once
// The chat pane: the scope (all documents, a collection, the selected documents), the transcript
// where the answer streams, Ask and Stop, the time to first token and where the documents' state
// came from, and under each answer its sources (document, section, page, quoted passage); opening a
// source asks the window to show it in the viewer.
#include <QWidget>

#include "ui_types.h"

class QComboBox;
class QLabel;
class QLineEdit;
class QListWidget;
class QProgressBar;
class QPushButton;
class QTextBrowser;

class ChatPanel : public QWidget {
  Q_OBJECT

 public:
  enum Scope { AllDocuments, SelectedDocuments, Collection };
  explicit ChatPanel(QWidget* parent = nullptr);
  QString scopeCollection() const;  // the collection picked, or empty
  Scope scope() const;
  const UiAnswer& lastAnswer() const { return last_; }
  int piecesShown() const { return pieces_; }  // pieces streamed into the transcript so far

 public slots:
  void setCollections(const QStringList& names);
  void setModelStatus(const QString& status, bool hasModel);
  void beginAnswer(const QString& title);
  void appendToken(const QString& piece);
  void showSummaryProgress(int sectionsDone, int sections, double secondsLeft);
  void showAnswer(const UiAnswer& answer);
  void showError(const QString& message);
  void focusQuestion();

 signals:
  void askRequested(const QString& question);
  void stopRequested();
  void sourceOpened(const UiSource& source);
  void exportRequested(const UiAnswer& answer);
  void openModelsFolderRequested();

 private:
  void setBusy(bool busy);

  QComboBox* scope_;
  QLabel* modelStatus_;
  QPushButton* openModels_;
  QTextBrowser* transcript_;
  QLineEdit* question_;
  QPushButton* ask_;
  QPushButton* stop_;
  QPushButton* export_;
  QLabel* timing_;
  QProgressBar* progress_;  // a summary's sections
  QListWidget* sources_;
  QString streamed_;
  int pieces_ = 0;
  UiAnswer last_;
};
