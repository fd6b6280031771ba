package peer

import (
	"fmt"

	"github.com/tinylib/msgp/msgp"

	"github.com/roster-io/roster/store"
)

// Beat hand-offs in MessagePack. A build before this one decodes a beats
// body as JSON whatever its Content-Type, so a beats request travels as
// MessagePack only on a stream whose two sides agreed to it in the
// handshake (streamMsgpackHeader); everywhere else it is JSON. That is
// why the request's encoder is on its own type (beatsMsgpack), which
// encodeBody only meets when the stream picked it: beatsRequest itself
// has no MarshalMsg, so every other path encodes it as JSON. Decoding
// both is always possible: the body's type says which it is.
//
// The answer needs no agreement: a caller asks for a MessagePack answer
// (the Accept header, or the frame's accept flag) only when its reply
// type can decode one, which no older build's beatsReply can.
//
// Layout (arrays, so a decoder checks the shape rather than skipping
// unknown fields; a change of layout needs a new handshake token):
//
//	request: [sent int64, [beat...]]
//	beat:    [key, instance, register or nil]   (store's generated maps)
//	reply:   [[found, intervalMs, error, status, stale]...]

// minBeatBytes is less than the MessagePack encoding of any valid beat
// this node writes (its key's and instance key's maps, with their field
// names, take more: TestWireBeats_smallestBeat); a beat list claiming
// more beats than the body could hold is refused before anything is
// allocated.
const minBeatBytes = 48

// minAnswerBytes is the smallest encoding of one beat answer.
const minAnswerBytes = 6

// beatsMsgpack is a beatsRequest to be encoded as MessagePack: only on a
// stream that agreed to it (stream_call.go).
type beatsMsgpack beatsRequest

// MarshalMsg encodes the request as [sent, beats].
func (r *beatsMsgpack) MarshalMsg(b []byte) ([]byte, error) {
	b = msgp.AppendArrayHeader(b, 2)
	b = msgp.AppendInt64(b, r.Sent)
	b = msgp.AppendArrayHeader(b, uint32(len(r.Beats)))
	for i := range r.Beats {
		var err error
		if b, err = appendBeat(b, &r.Beats[i]); err != nil {
			return nil, fmt.Errorf("peer: encode beat %d: %w", i, err)
		}
	}
	return b, nil
}

// Msgsize bounds the size of MarshalMsg's encoding.
func (r *beatsMsgpack) Msgsize() int {
	n := msgp.ArrayHeaderSize + msgp.Int64Size + msgp.ArrayHeaderSize
	for i := range r.Beats {
		c := &r.Beats[i]
		n += msgp.ArrayHeaderSize + c.Key.Msgsize() + c.Instance.Msgsize() + msgp.NilSize
		if c.Register != nil {
			n += c.Register.Msgsize()
		}
	}
	return n
}

// appendBeat appends one beat as [key, instance, register or nil].
func appendBeat(b []byte, c *BeatCall) ([]byte, error) {
	b = msgp.AppendArrayHeader(b, 3)
	b, err := c.Key.MarshalMsg(b)
	if err != nil {
		return nil, err
	}
	if b, err = c.Instance.MarshalMsg(b); err != nil {
		return nil, err
	}
	if c.Register == nil {
		return msgp.AppendNil(b), nil
	}
	return c.Register.MarshalMsg(b)
}

// UnmarshalMsg decodes what beatsMsgpack.MarshalMsg wrote. The beats are
// then validated by decodeBody (validate.go), as JSON ones are.
func (r *beatsRequest) UnmarshalMsg(b []byte) ([]byte, error) {
	n, b, err := msgp.ReadArrayHeaderBytes(b)
	if err != nil || n != 2 {
		return nil, fmt.Errorf("%w: beats: want [sent, beats]", errBadMsgpack)
	}
	if r.Sent, b, err = msgp.ReadInt64Bytes(b); err != nil {
		return nil, fmt.Errorf("%w: beats: sent: %v", errBadMsgpack, err)
	}
	if n, b, err = msgp.ReadArrayHeaderBytes(b); err != nil {
		return nil, fmt.Errorf("%w: beats: %v", errBadMsgpack, err)
	}
	if int(n) > len(b)/minBeatBytes {
		return nil, fmt.Errorf("%w: beats: %d claimed in %d bytes", errBadMsgpack, n, len(b))
	}
	r.Beats = nil
	if n > 0 {
		r.Beats = make([]BeatCall, n)
	}
	for i := range r.Beats {
		if b, err = readBeat(b, &r.Beats[i]); err != nil {
			return nil, fmt.Errorf("%w: beat %d: %v", errBadMsgpack, i, err)
		}
	}
	return b, nil
}

// readBeat decodes one beat into c.
func readBeat(b []byte, c *BeatCall) ([]byte, error) {
	n, b, err := msgp.ReadArrayHeaderBytes(b)
	if err != nil {
		return nil, err
	}
	if n != 3 {
		return nil, fmt.Errorf("want [key, instance, register], got %d items", n)
	}
	if b, err = c.Key.UnmarshalMsg(b); err != nil {
		return nil, fmt.Errorf("key: %w", err)
	}
	if b, err = c.Instance.UnmarshalMsg(b); err != nil {
		return nil, fmt.Errorf("instance: %w", err)
	}
	if msgp.IsNil(b) {
		return msgp.ReadNilBytes(b)
	}
	c.Register = new(store.Instance)
	if b, err = c.Register.UnmarshalMsg(b); err != nil {
		return nil, fmt.Errorf("register: %w", err)
	}
	return b, nil
}

// MarshalMsg encodes the reply as an array of answers.
func (r *beatsReply) MarshalMsg(b []byte) ([]byte, error) {
	b = msgp.AppendArrayHeader(b, uint32(len(r.Answers)))
	for i := range r.Answers {
		a := &r.Answers[i]
		b = msgp.AppendArrayHeader(b, 5)
		b = msgp.AppendBool(b, a.Found)
		b = msgp.AppendInt64(b, a.IntervalMs)
		b = msgp.AppendString(b, a.Error)
		b = msgp.AppendInt(b, a.Status)
		b = msgp.AppendBool(b, a.Stale)
	}
	return b, nil
}

// Msgsize bounds the size of MarshalMsg's encoding.
func (r *beatsReply) Msgsize() int {
	n := msgp.ArrayHeaderSize
	for i := range r.Answers {
		n += msgp.ArrayHeaderSize + 2*msgp.BoolSize + msgp.Int64Size + msgp.IntSize +
			msgp.StringPrefixSize + len(r.Answers[i].Error)
	}
	return n
}

// UnmarshalMsg decodes what MarshalMsg wrote.
func (r *beatsReply) UnmarshalMsg(b []byte) ([]byte, error) {
	n, b, err := msgp.ReadArrayHeaderBytes(b)
	if err != nil {
		return nil, fmt.Errorf("%w: beat answers: %v", errBadMsgpack, err)
	}
	if int(n) > len(b)/minAnswerBytes {
		return nil, fmt.Errorf("%w: beat answers: %d claimed in %d bytes", errBadMsgpack, n, len(b))
	}
	r.Answers = nil
	if n > 0 {
		r.Answers = make([]BeatAnswer, n)
	}
	for i := range r.Answers {
		if b, err = readAnswer(b, &r.Answers[i]); err != nil {
			return nil, fmt.Errorf("%w: beat answer %d: %v", errBadMsgpack, i, err)
		}
	}
	return b, nil
}

// readAnswer decodes one answer into a.
func readAnswer(b []byte, a *BeatAnswer) ([]byte, error) {
	n, b, err := msgp.ReadArrayHeaderBytes(b)
	if err != nil {
		return nil, err
	}
	if n != 5 {
		return nil, fmt.Errorf("want [found, intervalMs, error, status, stale], got %d items", n)
	}
	if a.Found, b, err = msgp.ReadBoolBytes(b); err != nil {
		return nil, fmt.Errorf("found: %w", err)
	}
	if a.IntervalMs, b, err = msgp.ReadInt64Bytes(b); err != nil {
		return nil, fmt.Errorf("intervalMs: %w", err)
	}
	if a.Error, b, err = msgp.ReadStringBytes(b); err != nil {
		return nil, fmt.Errorf("error: %w", err)
	}
	if a.Status, b, err = msgp.ReadIntBytes(b); err != nil {
		return nil, fmt.Errorf("status: %w", err)
	}
	if a.Stale, b, err = msgp.ReadBoolBytes(b); err != nil {
		return nil, fmt.Errorf("stale: %w", err)
	}
	return b, nil
}
