package tokenizer

import (
	"strings"

	"github.com/vrlaif/vrlaif/schemas"
)

// SystemV1 is the system text of the LLaVA v1 (conv_vicuna_v1) template.
const SystemV1 = "A chat between a curious user and an artificial intelligence assistant. The assistant gives helpful, detailed, and polite answers to the user's questions."

// IgnoreLabel is the label of a position that the loss skips.
const IgnoreLabel = -100

// Template pieces: roles USER/ASSISTANT, sep " " after a user turn and sep2 "</s>" after an
// assistant turn (LLaVA SeparatorStyle.TWO).
const (
	roleUser      = "USER"
	roleAssistant = "ASSISTANT"
	sep           = " "
	sep2          = "</s>"
)

// Media placeholders a human turn may carry; both render as <video>.
const (
	imagePlaceholder = "<image>"
	videoPlaceholder = "<video>"
)

// RenderV1 renders conv with the LLaVA v1 template, as LLaVA's Conversation.get_prompt does for
// SeparatorStyle.TWO:
//
//	{system} USER: {q1} ASSISTANT: {a1}</s>USER: {q2} ASSISTANT: {a2}</s>
//
// Each message is followed by its separator, " " after a user turn and "</s>" after an assistant
// turn, so the next "USER:" follows "</s>" with no space. A turn with an empty value renders as
// its bare role and colon, with no separator. A turn whose From is "gpt" is an assistant turn;
// any other is a user turn. As LLaVA's preprocess_multimodal does, a user turn holding <image> or
// <video> has every such placeholder removed, is trimmed, and gets one "<video>\n" in front
// ("<image>\nWhat?" and "What? <video>" both render as "<video>\nWhat?"). If conv does not end with an
// assistant turn, the result ends with the generation prompt "ASSISTANT:" (no trailing space),
// from which sampling starts; the model writes the space itself. An empty conv renders as
// "{system} ".
func RenderV1(conv []schemas.Turn) string {
	var b strings.Builder
	for _, p := range renderPieces(conv) {
		b.WriteString(p.text)
	}
	return b.String()
}

// piece is a span of the rendered conversation; answer spans are trained, the rest is masked.
type piece struct {
	text   string
	answer bool
}

// renderPieces renders conv as alternating instruction and answer pieces. An answer piece is
// " " + answer + "</s>": the space after "ASSISTANT:" belongs to the answer (see EncodeChat).
func renderPieces(conv []schemas.Turn) []piece {
	var pieces []piece
	var inst strings.Builder
	inst.WriteString(SystemV1 + sep)
	for _, turn := range conv {
		if turn.From != "gpt" {
			if msg := userMessage(turn.Value); msg != "" {
				inst.WriteString(roleUser + ": " + msg + sep)
			} else {
				inst.WriteString(roleUser + ":")
			}
			continue
		}
		inst.WriteString(roleAssistant + ":")
		if turn.Value == "" {
			continue
		}
		pieces = append(pieces, piece{text: inst.String()}, piece{text: " " + turn.Value + sep2, answer: true})
		inst.Reset()
	}
	if len(conv) > 0 && conv[len(conv)-1].From != "gpt" {
		inst.WriteString(roleAssistant + ":")
	}
	if inst.Len() > 0 {
		pieces = append(pieces, piece{text: inst.String()})
	}
	return pieces
}

// userMessage moves a media placeholder to the front of a user turn, written as <video>.
func userMessage(v string) string {
	if !strings.Contains(v, imagePlaceholder) && !strings.Contains(v, videoPlaceholder) {
		return v
	}
	v = strings.ReplaceAll(v, imagePlaceholder, "")
	v = strings.ReplaceAll(v, videoPlaceholder, "")
	return strings.TrimSpace(videoPlaceholder + "\n" + strings.TrimSpace(v))
}

// EncodeChat tokenizes conv for supervised training: ids is <s> followed by
// Encode(RenderV1(conv)), and labels[i] is ids[i] on the tokens of each assistant answer and its
// closing </s>, and IgnoreLabel on <s>, the system text, every "USER: … ASSISTANT:" instruction
// and every <video> token. This is LLaVA's preprocess_v1 with mask_target.
//
// The boundary falls right after "ASSISTANT:": the space that follows it is the first byte of the
// answer and is trained. LLaVA does the same (its instruction length is
// len(tokens("… ASSISTANT: ")) − 2, dropping <s> and the lone "▁" so that the first answer token
// "▁word" is trained), the pre-tokenizer glues that space to the answer's first word (" word" is
// one token, so no boundary exists after the space), and sampling starts from a prompt ending in
// "ASSISTANT:", so the model must learn to emit the space. Every cut (after ":" before a space,
// and after "</s>") falls between pre-tokens, so encoding the pieces one by one gives the same
// ids as encoding the whole rendered text.
func (t *Tokenizer) EncodeChat(conv []schemas.Turn) (ids []int, labels []int) {
	ids = []int{bosID}
	labels = []int{IgnoreLabel}
	for _, p := range renderPieces(conv) {
		for _, id := range t.Encode(p.text) {
			label := IgnoreLabel
			if p.answer && id != videoID {
				label = id
			}
			ids = append(ids, id)
			labels = append(labels, label)
		}
	}
	return ids, labels
}
