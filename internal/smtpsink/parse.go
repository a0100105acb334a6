package smtpsink

import (
	"bytes"
	"encoding/base64"
	"fmt"
	"io"
	"mime"
	"mime/multipart"
	"mime/quotedprintable"
	"net/mail"
	"strings"
)

// Header parses and returns the message header.
func (r Received) Header() (mail.Header, error) {
	msg, err := mail.ReadMessage(bytes.NewReader(r.Data))
	if err != nil {
		return nil, fmt.Errorf("smtpsink: parse message: %w", err)
	}
	return msg.Header, nil
}

// Subject returns the Subject header with RFC 2047 encoded words decoded.
func (r Received) Subject() (string, error) {
	h, err := r.Header()
	if err != nil {
		return "", err
	}
	dec := new(mime.WordDecoder)
	s, err := dec.DecodeHeader(h.Get("Subject"))
	if err != nil {
		return "", fmt.Errorf("smtpsink: decode subject: %w", err)
	}
	return s, nil
}

// TextBody returns the decoded first text/plain part of the message, with
// CRLF line endings turned into LF, or "" when there is none.
func (r Received) TextBody() (string, error) {
	text, _, err := r.bodies()
	return text, err
}

// HTMLBody returns the decoded first text/html part of the message, with
// CRLF line endings turned into LF, or "" when there is none.
func (r Received) HTMLBody() (string, error) {
	_, html, err := r.bodies()
	return html, err
}

// bodies walks the MIME tree and returns the first text/plain and text/html
// leaves, decoded.
func (r Received) bodies() (text, html string, err error) {
	msg, err := mail.ReadMessage(bytes.NewReader(r.Data))
	if err != nil {
		return "", "", fmt.Errorf("smtpsink: parse message: %w", err)
	}
	w := walker{}
	if err := w.walk(msg.Header.Get("Content-Type"), msg.Header.Get("Content-Transfer-Encoding"), msg.Body, 0); err != nil {
		return "", "", err
	}
	return w.text, w.html, nil
}

type walker struct {
	text, html       string
	hasText, hasHTML bool
}

const maxDepth = 8

func (w *walker) walk(contentType, cte string, body io.Reader, depth int) error {
	if depth > maxDepth {
		return fmt.Errorf("smtpsink: MIME nesting deeper than %d", maxDepth)
	}
	mediaType := "text/plain"
	var params map[string]string
	if contentType != "" {
		var err error
		mediaType, params, err = mime.ParseMediaType(contentType)
		if err != nil {
			return fmt.Errorf("smtpsink: content type %q: %w", contentType, err)
		}
	}
	if strings.HasPrefix(mediaType, "multipart/") {
		mr := multipart.NewReader(body, params["boundary"])
		for {
			p, err := mr.NextRawPart()
			if err == io.EOF {
				return nil
			}
			if err != nil {
				return fmt.Errorf("smtpsink: read MIME part: %w", err)
			}
			if err := w.walk(p.Header.Get("Content-Type"), p.Header.Get("Content-Transfer-Encoding"), p, depth+1); err != nil {
				return err
			}
		}
	}
	isText, isHTML := mediaType == "text/plain", mediaType == "text/html"
	if (!isText || w.hasText) && (!isHTML || w.hasHTML) {
		return nil
	}
	s, err := decodeBody(cte, body)
	if err != nil {
		return err
	}
	if isText {
		w.text, w.hasText = s, true
	} else {
		w.html, w.hasHTML = s, true
	}
	return nil
}

func decodeBody(cte string, body io.Reader) (string, error) {
	switch strings.ToLower(strings.TrimSpace(cte)) {
	case "quoted-printable":
		body = quotedprintable.NewReader(body)
	case "base64":
		body = base64.NewDecoder(base64.StdEncoding, body)
	case "", "7bit", "8bit", "binary":
	default:
		return "", fmt.Errorf("smtpsink: unsupported transfer encoding %q", cte)
	}
	b, err := io.ReadAll(body)
	if err != nil {
		return "", fmt.Errorf("smtpsink: decode %s body: %w", cte, err)
	}
	return strings.ReplaceAll(string(b), "\r\n", "\n"), nil
}
