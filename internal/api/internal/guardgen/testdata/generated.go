// A miniature of kmsg's generated.go: the statement shapes guardgen
// recognises, for its tests.

package kmsg

func RequestForKey(key int16) Request {
	switch key {
	default:
		return nil
	case 0:
		return NewPtrThingRequest()
	case 1:
		return NewPtrOldRequest()
	}
}

func (v *ThingRequest) Key() int16                { return 0 }
func (v *ThingRequest) MaxVersion() int16         { return 2 }
func (v *ThingRequest) ReadFrom(src []byte) error { return v.readFrom(src, false) }

func (v *ThingRequest) readFrom(src []byte, unsafe bool) error {
	v.Default()
	b := kbin.Reader{Src: src}
	version := v.Version
	_ = version
	isFlexible := version >= 2
	_ = isFlexible
	s := v
	{
		v := b.Int32()
		s.A = v
	}
	if version >= 1 {
		v := b.Int64()
		s.B = v
	}
	{
		var v string
		if unsafe {
			if isFlexible {
				v = b.UnsafeCompactString()
			} else {
				v = b.UnsafeString()
			}
		} else {
			if isFlexible {
				v = b.CompactString()
			} else {
				v = b.String()
			}
		}
		s.Name = v
	}
	{
		v := s.Items
		a := v
		var l int32
		if isFlexible {
			l = b.CompactArrayLen()
		} else {
			l = b.ArrayLen()
		}
		if version < 0 || l == 0 {
			a = []ThingItem{}
		}
		if !b.Ok() {
			return b.Complete()
		}
		a = a[:0]
		if l > 0 {
			a = append(a, make([]ThingItem, l)...)
		}
		for i := int32(0); i < l; i++ {
			v := &a[i]
			v.Default()
			s := v
			{
				v := b.Int16()
				s.X = v
			}
			if isFlexible {
				s.UnknownTags = internalReadTags(&b)
			}
		}
		v = a
		s.Items = v
	}
	{
		if present := b.Int8(); present != -1 && b.Ok() {
			s.Cursor = new(ThingCursor)
			v := s.Cursor
			v.Default()
			s := v
			{
				v := b.Uuid()
				s.ID = v
			}
		}
	}
	if isFlexible {
		for i := b.Uvarint(); i > 0; i-- {
			switch key := b.Uvarint(); key {
			default:
				s.UnknownTags.Set(key, b.Span(int(b.Uvarint())))
			case 0:
				b := kbin.Reader{Src: b.Span(int(b.Uvarint()))}
				v := b.Int32()
				s.Tagged = v
				if err := b.Complete(); err != nil {
					return err
				}
			}
		}
	}
	return b.Complete()
}

func (v *OldRequest) Key() int16                { return 1 }
func (v *OldRequest) MaxVersion() int16         { return 1 }
func (v *OldRequest) ReadFrom(src []byte) error { return v.readFrom(src, false) }

func (v *OldRequest) readFrom(src []byte, unsafe bool) error {
	v.Default()
	b := kbin.Reader{Src: src}
	version := v.Version
	_ = version
	s := v
	if version >= 0 && version <= 0 {
		v := b.Varint()
		s.Count = v
	}
	{
		v := b.VarintBytes()
		s.Data = v
	}
	{
		v := s.IDs
		a := v
		var l int32
		l = b.ArrayLen()
		if !b.Ok() {
			return b.Complete()
		}
		a = a[:0]
		if l > 0 {
			a = append(a, make([]int32, l)...)
		}
		for i := int32(0); i < l; i++ {
			v := b.Int32()
			a[i] = v
		}
		v = a
		s.IDs = v
	}
	return b.Complete()
}
