#pragma once
// The viewer: a cited passage in place. PDFs open on the cited page with the quoted sentence
// highlighted (Qt PDF renders the page; the sentence's boxes come from the page's text); other
// formats show the document's text scrolled to the passage, highlighted.
#include <QWidget>

#include "ui_types.h"

class QLabel;
class QPdfDocument;
class QScrollArea;
class QSpinBox;
class QStackedWidget;
class QTextBrowser;

class ViewerPanel : public QWidget {
  Q_OBJECT

 public:
  explicit ViewerPanel(QWidget* parent = nullptr);
  int currentPage() const { return page_; }  // 1-based; 0 when no PDF is shown
  int highlightedBoxes() const { return highlights_; }
  QString shownPath() const { return path_; }

 public slots:
  void show(const UiPassage& passage);

 private:
  void renderPage();

  QStackedWidget* stack_;
  QLabel* title_;
  QPdfDocument* pdf_;
  QScrollArea* pdfArea_;
  QLabel* pdfPage_;
  QSpinBox* pageBox_;
  QTextBrowser* text_;
  QString path_, quote_;
  int page_ = 0, highlights_ = 0;
};
