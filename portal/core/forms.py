"""What every page form shares."""


class NoSilentTruncation:
    """A form whose text fields say a value is too long rather than let the browser cut it: a field's
    max_length is still checked on the server, with a message naming the limit, but is not rendered as
    the input's `maxlength`, which makes a browser drop what is typed or pasted past it without a word."""

    def __init__(self, *args, **kwargs):
        super().__init__(*args, **kwargs)
        for field in self.fields.values():
            field.widget.attrs.pop("maxlength", None)
