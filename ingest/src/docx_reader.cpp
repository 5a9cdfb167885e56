// DOCX: the zip container through libzip, word/document.xml through libxml2 (no network,
// no entity expansion). Paragraph styles Heading1..9 and Title become sections. The XML is
// read with a hard cap on its decompressed size, whatever the zip directory claims.
#include <libxml/parser.h>
#include <libxml/tree.h>
#include <zip.h>

#include <cstring>
#include <memory>
#include <vector>

#include "hd/ingest/readers.h"

namespace hd {
namespace {

bool is(const xmlNode* n, const char* local_name) {
  return n->type == XML_ELEMENT_NODE && std::strcmp(reinterpret_cast<const char*>(n->name), local_name) == 0;
}

std::string attribute(const xmlNode* n, const char* name) {
  for (const xmlAttr* a = n->properties; a; a = a->next) {
    if (std::strcmp(reinterpret_cast<const char*>(a->name), name) == 0 && a->children && a->children->content) {
      return reinterpret_cast<const char*>(a->children->content);
    }
  }
  return "";
}

// Heading level of a paragraph style: "Title" 0 (above every heading), "HeadingN" N, body -1.
int heading_level(const std::string& style) {
  if (style == "Title") return 0;
  if (style.rfind("Heading", 0) == 0 && style.size() == 8 && style[7] >= '1' && style[7] <= '9') return style[7] - '0';
  return -1;
}

std::string read_entry(zip_t* zip, const char* name, std::uint64_t cap, const std::filesystem::path& path) {
  zip_file_t* f = zip_fopen(zip, name, 0);
  if (!f) throw ReadError(path.string() + ": not a Word document (no " + name + " inside)");
  std::string out;
  char buf[1 << 16];
  zip_int64_t n = 0;
  while ((n = zip_fread(f, buf, sizeof buf)) > 0) {
    if (out.size() + static_cast<std::uint64_t>(n) > cap) {
      zip_fclose(f);
      throw ReadError(path.string() + ": " + name + " inflates past " + std::to_string(cap >> 20) +
                      " MiB (a zip bomb?)");
    }
    out.append(buf, static_cast<std::size_t>(n));
  }
  zip_fclose(f);
  if (n < 0) throw ReadError(path.string() + ": " + name + " is damaged (CRC or inflate error)");
  return out;
}

}  // namespace

Document read_docx(const std::filesystem::path& path, const ReadLimits& limits) {
  Document doc;
  doc.path = path;
  doc.format = DocumentFormat::docx;
  int err = 0;
  std::unique_ptr<zip_t, int (*)(zip_t*)> zip(zip_open(path.c_str(), ZIP_RDONLY, &err), zip_close);
  if (!zip) throw ReadError(path.string() + ": not a readable zip container (damaged or truncated?)");
  const std::string xml = read_entry(zip.get(), "word/document.xml", limits.max_inflated_bytes, path);

  std::unique_ptr<xmlDoc, void (*)(xmlDocPtr)> tree(
      xmlReadMemory(xml.data(), static_cast<int>(xml.size()), "document.xml", nullptr,
                    XML_PARSE_NONET | XML_PARSE_NOERROR | XML_PARSE_NOWARNING),
      xmlFreeDoc);
  if (!tree) throw ReadError(path.string() + ": word/document.xml is not well-formed XML");

  DocumentBuilder b(doc, limits.max_text_bytes);
  // Walk every element iteratively; each w:p is one paragraph.
  std::vector<const xmlNode*> stack{xmlDocGetRootElement(tree.get())};
  while (!stack.empty()) {
    const xmlNode* n = stack.back();
    stack.pop_back();
    if (!n) continue;
    if (is(n, "p")) {
      std::string text, style;
      std::vector<const xmlNode*> inner{n->children};
      while (!inner.empty()) {
        const xmlNode* m = inner.back();
        inner.pop_back();
        for (; m; m = m->next) {
          if (is(m, "pStyle")) style = attribute(m, "val");
          else if (is(m, "t") && m->children && m->children->content) text += reinterpret_cast<const char*>(m->children->content);
          else if (is(m, "tab")) text += '\t';
          else if (is(m, "br")) text += '\n';
          else if (m->type == XML_ELEMENT_NODE && m->children) {
            inner.push_back(m->next);  // come back to the siblings after the children
            inner.push_back(m->children);
            break;
          }
        }
      }
      if (const int level = heading_level(style); level >= 0) b.heading(level, text);
      else b.paragraph(text);
      continue;
    }
    std::vector<const xmlNode*> kids;
    for (const xmlNode* k = n->children; k; k = k->next) {
      if (k->type == XML_ELEMENT_NODE) kids.push_back(k);
    }
    for (auto it = kids.rbegin(); it != kids.rend(); ++it) stack.push_back(*it);
  }
  b.finish();
  if (doc.title.empty()) doc.title = path.stem().string();
  return doc;
}

}  // namespace hd
