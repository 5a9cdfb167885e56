// DOCX: the zip container through libzip, word/document.xml through libxml2's streaming reader
// (xmlTextReader: one node at a time, never a tree, so memory stays flat however many paragraphs;
// no network, no entity expansion). The XML is inflated as it is parsed, with a hard cap on its
// decompressed size whatever the zip directory claims. Paragraph styles Heading1..9 and Title
// become sections.
#include <libxml/xmlreader.h>
#include <zip.h>

#include <cstring>
#include <memory>

#include "hd/ingest/readers.h"

namespace hd {
namespace {

// Heading level of a paragraph style: "Title" 0 (above every heading), "HeadingN" N, body -1.
int heading_level(const std::string& style) {
  if (style == "Title") return 0;
  if (style.rfind("Heading", 0) == 0 && style.size() == 8 && style[7] >= '1' && style[7] <= '9') return style[7] - '0';
  return -1;
}

// word/document.xml inflated on demand for the XML reader, refusing to go past the cap.
struct InflatingSource {
  zip_file_t* file = nullptr;
  std::uint64_t cap = 0, inflated = 0;
  bool over_cap = false, damaged = false;

  static int read(void* self, char* buffer, int len) {
    auto* s = static_cast<InflatingSource*>(self);
    const zip_int64_t n = zip_fread(s->file, buffer, static_cast<zip_uint64_t>(len));
    if (n < 0) {
      s->damaged = true;
      return -1;
    }
    s->inflated += static_cast<std::uint64_t>(n);
    if (s->inflated > s->cap) {
      s->over_cap = true;
      return -1;
    }
    return static_cast<int>(n);
  }
  static int close(void*) { return 0; }  // the zip_file_t is closed by its owner
};

// libxml2's first complaint about the XML, kept for the refusal (and not printed to stderr).
void keep_first_error(void* arg, xmlErrorPtr error) {
  auto* first = static_cast<std::string*>(arg);
  if (!error || error->level < XML_ERR_ERROR || !first->empty()) return;
  std::string m = error->message ? error->message : "";
  while (!m.empty() && (m.back() == '\n' || m.back() == ' ')) m.pop_back();
  *first = "line " + std::to_string(error->line) + ": " + m;
}

bool local_name_is(xmlTextReaderPtr r, const char* name) {
  const xmlChar* n = xmlTextReaderConstLocalName(r);
  return n && std::strcmp(reinterpret_cast<const char*>(n), name) == 0;
}

std::string attribute_by_local_name(xmlTextReaderPtr r, const char* name) {
  std::string value;
  if (xmlTextReaderMoveToFirstAttribute(r) == 1) {
    do {
      if (local_name_is(r, name)) {
        if (const xmlChar* v = xmlTextReaderConstValue(r)) value = reinterpret_cast<const char*>(v);
        break;
      }
    } while (xmlTextReaderMoveToNextAttribute(r) == 1);
    xmlTextReaderMoveToElement(r);
  }
  return value;
}

}  // namespace

Document read_docx(const std::filesystem::path& path, const ReadLimits& limits) {
  Document doc;
  doc.path = path;
  doc.format = DocumentFormat::docx;
  int err = 0;
  std::unique_ptr<zip_t, int (*)(zip_t*)> zip(zip_open(path.c_str(), ZIP_RDONLY, &err), zip_close);
  if (!zip) throw ReadError(path.string() + ": not a readable zip container (damaged or truncated?)");
  std::unique_ptr<zip_file_t, int (*)(zip_file_t*)> xml(zip_fopen(zip.get(), "word/document.xml", 0), zip_fclose);
  if (!xml) throw ReadError(path.string() + ": not a Word document (no word/document.xml inside)");

  InflatingSource source{xml.get(), limits.max_inflated_bytes};
  std::unique_ptr<xmlTextReader, void (*)(xmlTextReaderPtr)> reader(
      xmlReaderForIO(&InflatingSource::read, &InflatingSource::close, &source, "document.xml", nullptr,
                     XML_PARSE_NONET | XML_PARSE_NOERROR | XML_PARSE_NOWARNING),
      xmlFreeTextReader);
  if (!reader) throw ReadError(path.string() + ": word/document.xml cannot be read");
  xmlTextReaderPtr r = reader.get();
  std::string xml_error;
  xmlTextReaderSetStructuredErrorHandler(r, keep_first_error, &xml_error);

  DocumentBuilder b(doc, limits.max_text_bytes, limits);
  // Paragraphs can nest (text boxes): their text joins the outermost paragraph, as Word shows it.
  int paragraph_depth = 0, text_depth = 0;
  std::string text, style;
  auto end_paragraph = [&] {
    if (const int level = heading_level(style); level >= 0) b.heading(level, text);
    else b.paragraph(text);
    text.clear();
    style.clear();
  };
  int status = 0;
  while ((status = xmlTextReaderRead(r)) == 1) {
    b.check();
    const int type = xmlTextReaderNodeType(r);
    if (type == XML_READER_TYPE_ELEMENT) {
      const bool empty = xmlTextReaderIsEmptyElement(r) == 1;
      if (local_name_is(r, "p")) {
        if (empty) {
          if (paragraph_depth == 0) end_paragraph();
        } else {
          ++paragraph_depth;
        }
      } else if (paragraph_depth > 0) {
        if (local_name_is(r, "pStyle") && style.empty()) style = attribute_by_local_name(r, "val");
        else if (local_name_is(r, "t") && !empty) ++text_depth;
        else if (local_name_is(r, "tab")) text += '\t';
        else if (local_name_is(r, "br")) text += '\n';
      }
    } else if (type == XML_READER_TYPE_END_ELEMENT) {
      if (local_name_is(r, "p") && paragraph_depth > 0) {
        if (--paragraph_depth == 0) end_paragraph();
      } else if (local_name_is(r, "t") && text_depth > 0) {
        --text_depth;
      }
    } else if ((type == XML_READER_TYPE_TEXT || type == XML_READER_TYPE_SIGNIFICANT_WHITESPACE ||
                type == XML_READER_TYPE_CDATA) && text_depth > 0) {
      if (const xmlChar* v = xmlTextReaderConstValue(r)) text += reinterpret_cast<const char*>(v);
      if (text.size() > limits.max_text_bytes) {
        throw ReadError(path.string() + ": a paragraph of more than " + std::to_string(limits.max_text_bytes >> 20) +
                        " MiB of text");
      }
    }
  }
  if (source.over_cap) {
    throw ReadError(path.string() + ": word/document.xml inflates past " + std::to_string(limits.max_inflated_bytes >> 20) +
                    " MiB (a zip bomb?)");
  }
  if (source.damaged) throw ReadError(path.string() + ": word/document.xml is damaged (CRC or inflate error)");
  if (status != 0) {
    throw ReadError(path.string() + ": word/document.xml is not well-formed XML" +
                    (xml_error.empty() ? "" : " (" + xml_error + ")"));
  }
  b.finish();
  if (doc.title.empty()) doc.title = path.stem().string();
  return doc;
}

}  // namespace hd
