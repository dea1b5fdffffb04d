"""Not a flow: importing it registers the channels' content checks (WhatsApp templates per kind,
content/channels/whatsapp_templates.yaml) so `umkm-bot content check` runs them."""
import bot.channels.templates  # noqa: F401
