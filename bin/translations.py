"""Fill the customer-facing strings of locale/*/django.po (run after makemessages, before compilemessages).

Customers read these pages and messages in Estonian, Finnish, Russian and Swedish; staff screens stay
in English for now. Keys are the English msgids; a missing key leaves the msgstr as it is.
"""

import pathlib
import sys

import polib

T = {
    "No news or offers on any channel, including new topics: only the messages we must send you, about your purchases and bonus points.": (
        "Ühegi kanali kaudu ei saadeta uudiseid ega pakkumisi, ka uutel teemadel: ainult sõnumid, mida peame teile saatma teie ostude ja boonuspunktide kohta.",
        "Ei uutisia eikä tarjouksia millään kanavalla, ei myöskään uusista aiheista: vain viestit, jotka meidän on lähetettävä ostoksistasi ja bonuspisteistäsi.",
        "Никаких новостей и предложений ни по одному каналу, в том числе по новым темам: только сообщения о ваших покупках и бонусных баллах, которые мы обязаны отправлять.",
        "Inga nyheter eller erbjudanden i någon kanal, inte heller om nya ämnen: bara de meddelanden vi måste skicka om dina köp och bonuspoäng.",
    ),
    "No news or offers by %(channel)s, including new topics.": (
        "Uudiseid ega pakkumisi ei saadeta kanalis %(channel)s, ka uutel teemadel.",
        "Ei uutisia eikä tarjouksia kanavalla %(channel)s, ei myöskään uusista aiheista.",
        "Никаких новостей и предложений по каналу %(channel)s, в том числе по новым темам.",
        "Inga nyheter eller erbjudanden via %(channel)s, inte heller om nya ämnen.",
    ),
    "Nothing at all by %(channel)s, not even messages about your purchases and bonus points.": (
        "Kanalis %(channel)s ei saadeta midagi, isegi mitte sõnumeid teie ostude ja boonuspunktide kohta.",
        "Kanavalla %(channel)s ei lähetetä mitään, ei edes viestejä ostoksistasi ja bonuspisteistäsi.",
        "По каналу %(channel)s ничего не отправляется, даже сообщения о покупках и бонусных баллах.",
        "Ingenting alls via %(channel)s, inte ens meddelanden om dina köp och bonuspoäng.",
    ),
    "What you have already chosen": (
        "Mida olete juba valinud",
        "Mitä olet jo valinnut",
        "Что вы уже выбрали",
        "Vad du redan har valt",
    ),
    "Skip to content": ("Edasi sisu juurde", "Siirry sisältöön", "Перейти к содержимому", "Hoppa till innehållet"),
    "Language": ("Keel", "Kieli", "Язык", "Språk"),
    "This link is no longer valid": (
        "See link ei kehti enam",
        "Tämä linkki ei ole enää voimassa",
        "Эта ссылка больше не действует",
        "Länken gäller inte längre",
    ),
    "Please use the link in a more recent message, or contact us and we will help.": (
        "Kasutage uuema sõnumi linki või võtke meiega ühendust – aitame hea meelega.",
        "Käytä uudemman viestin linkkiä tai ota yhteyttä, niin autamme.",
        "Воспользуйтесь ссылкой из более нового сообщения или свяжитесь с нами — мы поможем.",
        "Använd länken i ett nyare meddelande eller kontakta oss så hjälper vi dig.",
    ),
    "Too many requests": (
        "Liiga palju päringuid",
        "Liian monta pyyntöä",
        "Слишком много запросов",
        "För många förfrågningar",
    ),
    "Please wait a minute and try again.": (
        "Palun oodake minut ja proovige uuesti.",
        "Odota hetki ja yritä uudelleen.",
        "Подождите минуту и попробуйте снова.",
        "Vänta en minut och försök igen.",
    ),
    "What you will get from now on": (
        "Mida saate edaspidi",
        "Mitä saat tästä eteenpäin",
        "Что вы будете получать дальше",
        "Det här får du från och med nu",
    ),
    "nothing": ("mitte midagi", "ei mitään", "ничего", "ingenting"),
    "We have no way to reach you.": (
        "Meil pole võimalust teiega ühendust võtta.",
        "Emme voi tavoittaa sinua.",
        "У нас нет способа с вами связаться.",
        "Vi har inget sätt att nå dig.",
    ),
    "Service messages about your purchases and bonus points keep coming unless you turn a channel off completely.": (
        "Teenindussõnumid ostude ja boonuspunktide kohta tulevad edasi, kui te kanalit täielikult välja ei lülita.",
        "Palveluviestit ostoksistasi ja bonuspisteistäsi tulevat edelleen, ellet sulje kanavaa kokonaan.",
        "Служебные сообщения о покупках и бонусах продолжат приходить, если вы не отключите канал полностью.",
        "Servicemeddelanden om köp och bonuspoäng fortsätter komma om du inte stänger av en kanal helt.",
    ),
    "Your choices": ("Teie valikud", "Valintasi", "Ваш выбор", "Dina val"),
    "Hello %(name)s, how should we talk to you?": (
        "Tere, %(name)s! Kuidas peaksime teiega suhtlema?",
        "Hei %(name)s, miten haluat meidän pitävän yhteyttä?",
        "Здравствуйте, %(name)s! Как нам с вами общаться?",
        "Hej %(name)s, hur vill du att vi hör av oss?",
    ),
    "Saved. What changed:": (
        "Salvestatud. Mis muutus:",
        "Tallennettu. Muutokset:",
        "Сохранено. Что изменилось:",
        "Sparat. Det här ändrades:",
    ),
    "Nothing changed.": ("Midagi ei muutunud.", "Mikään ei muuttunut.", "Ничего не изменилось.", "Inget ändrades."),
    "Save my choices": ("Salvesta valikud", "Tallenna valinnat", "Сохранить", "Spara mina val"),
    "Telegram": ("Telegram", "Telegram", "Telegram", "Telegram"),
    "Open Telegram and press Start": (
        "Avage Telegram ja vajutage Start",
        "Avaa Telegram ja paina Start",
        "Откройте Telegram и нажмите Start",
        "Öppna Telegram och tryck på Start",
    ),
    "Get our messages in Telegram": (
        "Saa meie sõnumeid Telegramis",
        "Saa viestimme Telegramissa",
        "Получать наши сообщения в Telegram",
        "Få våra meddelanden i Telegram",
    ),
    "Fewer messages?": ("Vähem sõnumeid?", "Vähemmän viestejä?", "Меньше сообщений?", "Färre meddelanden?"),
    "You received “%(topic)s” by %(channel)s. Choose what suits you — you can always change it later.": (
        "Saite teema „%(topic)s” sõnumi kanalis %(channel)s. Valige, mis teile sobib – saate seda alati muuta.",
        "Sait aiheesta ”%(topic)s” viestin kanavalla %(channel)s. Valitse sinulle sopiva – voit muuttaa sitä milloin tahansa.",
        "Вы получили «%(topic)s» через канал %(channel)s. Выберите, как вам удобнее — это всегда можно изменить.",
        "Du fick ”%(topic)s” via %(channel)s. Välj det som passar dig – du kan alltid ändra det senare.",
    ),
    "Confirm": ("Kinnita", "Vahvista", "Подтвердить", "Bekräfta"),
    "Done": ("Valmis", "Valmis", "Готово", "Klart"),
    "You chose: %(chosen)s.": (
        "Teie valik: %(chosen)s.",
        "Valintasi: %(chosen)s.",
        "Ваш выбор: %(chosen)s.",
        "Du valde: %(chosen)s.",
    ),
    "Thank you for telling us why.": (
        "Täname, et põhjuse ütlesite.",
        "Kiitos, että kerroit syyn.",
        "Спасибо, что рассказали о причине.",
        "Tack för att du berättade varför.",
    ),
    "This wasn't me": ("See polnud mina", "Tämä en ollut minä", "Это был не я", "Det var inte jag"),
    "When": ("Millal", "Milloin", "Когда", "När"),
    "Store": ("Kauplus", "Myymälä", "Магазин", "Butik"),
    "Points": ("Punktid", "Pisteet", "Баллы", "Poäng"),
    "Receipt": ("Tšekk", "Kuitti", "Чек", "Kvitto"),
    "If you did not make this purchase or use these points, tell us: our staff will check it.": (
        "Kui te ei teinud seda ostu ega kasutanud neid punkte, andke meile teada – meie töötajad kontrollivad.",
        "Jos et tehnyt tätä ostosta tai käyttänyt näitä pisteitä, kerro meille – tarkistamme asian.",
        "Если вы не совершали эту покупку и не тратили эти баллы, сообщите нам — мы проверим.",
        "Om du inte gjorde det här köpet eller använde poängen, berätta för oss så kontrollerar vi det.",
    ),
    "Report it": ("Teata", "Ilmoita", "Сообщить", "Anmäl"),
    "Thank you — we will check it": (
        "Aitäh – me kontrollime",
        "Kiitos – tarkistamme asian",
        "Спасибо — мы проверим",
        "Tack – vi kontrollerar det",
    ),
    "Our staff will look into it and contact you if we need more details.": (
        "Meie töötajad uurivad asja ja võtavad vajadusel teiega ühendust.",
        "Henkilökuntamme selvittää asian ja ottaa yhteyttä, jos tarvitsemme lisätietoja.",
        "Наши сотрудники разберутся и свяжутся с вами, если понадобятся подробности.",
        "Vår personal undersöker saken och kontaktar dig om vi behöver mer information.",
    ),
    "What would you like?": ("Mida soovite?", "Mitä haluat?", "Что вы хотите?", "Vad vill du?"),
    "Which channel instead?": (
        "Milline kanal selle asemel?",
        "Mikä kanava sen sijaan?",
        "Какой канал вместо этого?",
        "Vilken kanal i stället?",
    ),
    "Would you tell us why? (optional)": (
        "Kas ütlete ka põhjuse? (vabatahtlik)",
        "Kertoisitko syyn? (vapaaehtoinen)",
        "Расскажете почему? (необязательно)",
        "Vill du berätta varför? (valfritt)",
    ),
    "In your own words (optional)": (
        "Omade sõnadega (vabatahtlik)",
        "Omin sanoin (vapaaehtoinen)",
        "Своими словами (необязательно)",
        "Med egna ord (valfritt)",
    ),
    "Stop “%(topic)s” by %(channel)s": (
        "Lõpeta „%(topic)s” kanalis %(channel)s",
        "Lopeta ”%(topic)s” kanavalla %(channel)s",
        "Больше не присылать «%(topic)s» через %(channel)s",
        "Sluta skicka ”%(topic)s” via %(channel)s",
    ),
    "Stop all news and offers by %(channel)s": (
        "Lõpeta kõik uudised ja pakkumised kanalis %(channel)s",
        "Lopeta kaikki uutiset ja tarjoukset kanavalla %(channel)s",
        "Больше не присылать новости и предложения через %(channel)s",
        "Sluta skicka alla nyheter och erbjudanden via %(channel)s",
    ),
    "Stop all news and offers, on every channel": (
        "Lõpeta kõik uudised ja pakkumised kõigis kanalites",
        "Lopeta kaikki uutiset ja tarjoukset kaikilla kanavilla",
        "Больше не присылать новости и предложения ни по одному каналу",
        "Sluta skicka alla nyheter och erbjudanden i alla kanaler",
    ),
    "Keep them, but at most one a week by %(channel)s": (
        "Jätka, kuid kõige rohkem üks nädalas kanalis %(channel)s",
        "Jatka, mutta enintään yksi viikossa kanavalla %(channel)s",
        "Оставить, но не чаще раза в неделю через %(channel)s",
        "Fortsätt, men högst ett i veckan via %(channel)s",
    ),
    "Get “%(topic)s” on another channel instead": (
        "Saada „%(topic)s” hoopis teise kanali kaudu",
        "Saa ”%(topic)s” toisella kanavalla",
        "Получать «%(topic)s» по другому каналу",
        "Få ”%(topic)s” i en annan kanal i stället",
    ),
    "Choose the channel you prefer.": (
        "Valige eelistatud kanal.",
        "Valitse haluamasi kanava.",
        "Выберите удобный канал.",
        "Välj den kanal du föredrar.",
    ),
    "Anything we should know? (optional)": (
        "Kas peaksime midagi teadma? (vabatahtlik)",
        "Onko jotain, mitä meidän pitäisi tietää? (vapaaehtoinen)",
        "Что нам стоит знать? (необязательно)",
        "Något vi bör veta? (valfritt)",
    ),
    "Yes, %(brand)s may e-mail me news and offers.": (
        "Jah, %(brand)s võib saata mulle uudiseid ja pakkumisi e-postiga.",
        "Kyllä, %(brand)s saa lähettää minulle uutisia ja tarjouksia sähköpostilla.",
        "Да, %(brand)s может присылать мне новости и предложения по e-mail.",
        "Ja, %(brand)s får mejla mig nyheter och erbjudanden.",
    ),
    "Yes, %(brand)s may send me news and offers by SMS.": (
        "Jah, %(brand)s võib saata mulle uudiseid ja pakkumisi SMS-iga.",
        "Kyllä, %(brand)s saa lähettää minulle uutisia ja tarjouksia tekstiviestillä.",
        "Да, %(brand)s может присылать мне новости и предложения по SMS.",
        "Ja, %(brand)s får skicka mig nyheter och erbjudanden via sms.",
    ),
    "Yes, %(brand)s may send me news and offers in my messenger.": (
        "Jah, %(brand)s võib saata mulle uudiseid ja pakkumisi sõnumirakenduses.",
        "Kyllä, %(brand)s saa lähettää minulle uutisia ja tarjouksia pikaviestimessä.",
        "Да, %(brand)s может присылать мне новости и предложения в мессенджер.",
        "Ja, %(brand)s får skicka mig nyheter och erbjudanden i min chattapp.",
    ),
    "I want to hear about these topics.": (
        "Soovin kuulda nendest teemadest.",
        "Haluan kuulla näistä aiheista.",
        "Я хочу получать сообщения на эти темы.",
        "Jag vill höra om de här ämnena.",
    ),
    "Bonus messages (credited, used, expiring) by": (
        "Boonussõnumid (lisatud, kasutatud, aeguvad) kanalis",
        "Bonusviestit (hyvitetty, käytetty, vanhenevat) kanavalla",
        "Сообщения о бонусах (начислены, списаны, сгорают) через",
        "Bonusmeddelanden (insatta, använda, går ut) via",
    ),
    "as the shop decides": ("nagu pood otsustab", "kuten kauppa päättää", "как решит магазин", "som butiken väljer"),
    "Not before (your local time)": (
        "Mitte enne (teie kohalik aeg)",
        "Ei ennen (paikallista aikaa)",
        "Не раньше (ваше местное время)",
        "Inte före (din lokala tid)",
    ),
    "Not after (your local time)": (
        "Mitte pärast (teie kohalik aeg)",
        "Ei jälkeen (paikallista aikaa)",
        "Не позже (ваше местное время)",
        "Inte efter (din lokala tid)",
    ),
    "Days for news that can wait (none: any day)": (
        "Päevad uudistele, mis võivad oodata (pole valitud: iga päev)",
        "Päivät uutisille, jotka voivat odottaa (ei valintaa: mikä tahansa päivä)",
        "Дни для новостей, которые могут подождать (не выбрано: любой день)",
        "Dagar för nyheter som kan vänta (inget val: alla dagar)",
    ),
    "News e-mails per week, at most": (
        "Uudiskirju nädalas kõige rohkem",
        "Uutissähköposteja viikossa enintään",
        "Писем с новостями в неделю, не больше",
        "Nyhetsmejl per vecka, högst",
    ),
    "News SMS per week, at most": (
        "Uudis-SMS-e nädalas kõige rohkem",
        "Uutistekstiviestejä viikossa enintään",
        "SMS с новостями в неделю, не больше",
        "Nyhets-sms per vecka, högst",
    ),
    "Pause news until": (
        "Peata uudised kuni",
        "Keskeytä uutiset asti",
        "Приостановить новости до",
        "Pausa nyheter till",
    ),
    "Districts for local news (where you live, work or shop)": (
        "Linnaosad kohalike uudiste jaoks (kus elate, töötate või poodlete)",
        "Kaupunginosat paikallisuutisille (missä asut, työskentelet tai asioit)",
        "Районы для местных новостей (где вы живёте, работаете или делаете покупки)",
        "Stadsdelar för lokala nyheter (där du bor, arbetar eller handlar)",
    ),
    "The latest time must be after the earliest time.": (
        "Hiliseim aeg peab olema pärast varaseimat.",
        "Myöhäisimmän ajan on oltava aikaisimman jälkeen.",
        "Последнее время должно быть позже раннего.",
        "Den senaste tiden måste vara efter den tidigaste.",
    ),
    "Choose a date from today on.": (
        "Valige kuupäev alates tänasest.",
        "Valitse päivä tästä päivästä alkaen.",
        "Выберите дату начиная с сегодняшней.",
        "Välj ett datum från och med i dag.",
    ),
    "Monday": ("Esmaspäev", "Maanantai", "Понедельник", "Måndag"),
    "Tuesday": ("Teisipäev", "Tiistai", "Вторник", "Tisdag"),
    "Wednesday": ("Kolmapäev", "Keskiviikko", "Среда", "Onsdag"),
    "Thursday": ("Neljapäev", "Torstai", "Четверг", "Torsdag"),
    "Friday": ("Reede", "Perjantai", "Пятница", "Fredag"),
    "Saturday": ("Laupäev", "Lauantai", "Суббота", "Lördag"),
    "Sunday": ("Pühapäev", "Sunnuntai", "Воскресенье", "Söndag"),
    "e-mail": ("e-post", "sähköposti", "e-mail", "e-post"),
    "SMS": ("SMS", "tekstiviesti", "SMS", "sms"),
    "messenger": ("sõnumirakendus", "pikaviestin", "мессенджер", "chattapp"),
    "postal letter": ("paberkiri", "kirje", "письмо", "brev"),
    "Earliest time": ("Varaseim aeg", "Aikaisin aika", "Самое раннее время", "Tidigaste tid"),
    "Latest time": ("Hiliseim aeg", "Myöhäisin aika", "Самое позднее время", "Senaste tid"),
    "Preferred days": ("Eelistatud päevad", "Toivotut päivät", "Удобные дни", "Önskade dagar"),
    "Pause until": ("Paus kuni", "Tauko asti", "Пауза до", "Paus till"),
    "News and offers by %(channel)s: on": (
        "Uudised ja pakkumised (%(channel)s): sees",
        "Uutiset ja tarjoukset (%(channel)s): päällä",
        "Новости и предложения (%(channel)s): включены",
        "Nyheter och erbjudanden (%(channel)s): på",
    ),
    "News and offers by %(channel)s: off": (
        "Uudised ja pakkumised (%(channel)s): väljas",
        "Uutiset ja tarjoukset (%(channel)s): pois",
        "Новости и предложения (%(channel)s): выключены",
        "Nyheter och erbjudanden (%(channel)s): av",
    ),
    "Topic “%(topic)s”: on": (
        "Teema „%(topic)s”: sees",
        "Aihe ”%(topic)s”: päällä",
        "Тема «%(topic)s»: включена",
        "Ämne ”%(topic)s”: på",
    ),
    "Topic “%(topic)s”: off": (
        "Teema „%(topic)s”: väljas",
        "Aihe ”%(topic)s”: pois",
        "Тема «%(topic)s»: выключена",
        "Ämne ”%(topic)s”: av",
    ),
    "At most %(n)s per week by %(channel)s": (
        "Kõige rohkem %(n)s nädalas (%(channel)s)",
        "Enintään %(n)s viikossa (%(channel)s)",
        "Не больше %(n)s в неделю (%(channel)s)",
        "Högst %(n)s per vecka (%(channel)s)",
    ),
    "Bonus messages by %(channel)s": (
        "Boonussõnumid: %(channel)s",
        "Bonusviestit: %(channel)s",
        "Сообщения о бонусах: %(channel)s",
        "Bonusmeddelanden: %(channel)s",
    ),
    "Districts for local news: %(names)s": (
        "Linnaosad kohalike uudiste jaoks: %(names)s",
        "Kaupunginosat paikallisuutisille: %(names)s",
        "Районы для местных новостей: %(names)s",
        "Stadsdelar för lokala nyheter: %(names)s",
    ),
    "STOP to %(sender)s to opt out": (
        "Loobumiseks saada STOP numbrile %(sender)s",
        "Lopeta lähettämällä STOP numeroon %(sender)s",
        "Чтобы отписаться, отправьте STOP на %(sender)s",
        "Avsluta med STOP till %(sender)s",
    ),
    "Stop these messages or choose fewer: %(url)s": (
        "Loobu neist sõnumitest või vali vähem: %(url)s",
        "Lopeta nämä viestit tai valitse vähemmän: %(url)s",
        "Отписаться или получать реже: %(url)s",
        "Avsluta eller välj färre meddelanden: %(url)s",
    ),
    "All your choices: %(url)s": (
        "Kõik teie valikud: %(url)s",
        "Kaikki valintasi: %(url)s",
        "Все ваши настройки: %(url)s",
        "Alla dina val: %(url)s",
    ),
    "Reply STOP to stop these messages.": (
        "Vasta STOP, et neist sõnumitest loobuda.",
        "Vastaa STOP lopettaaksesi nämä viestit.",
        "Ответьте STOP, чтобы отписаться.",
        "Svara STOP för att avsluta meddelandena.",
    ),
    "%(brand)s: you will get no more SMS from us. Reply START to get them again.": (
        "%(brand)s: te ei saa meilt enam SMS-e. Vasta START, et neid uuesti saada.",
        "%(brand)s: et saa meiltä enää tekstiviestejä. Vastaa START saadaksesi ne taas.",
        "%(brand)s: вы больше не будете получать от нас SMS. Ответьте START, чтобы возобновить.",
        "%(brand)s: du får inga fler sms från oss. Svara START för att få dem igen.",
    ),
    "%(brand)s: you will get no more “%(topic)s” SMS. Reply START to get them again.": (
        "%(brand)s: te ei saa enam „%(topic)s” SMS-e. Vasta START, et neid uuesti saada.",
        "%(brand)s: et saa enää ”%(topic)s” -tekstiviestejä. Vastaa START saadaksesi ne taas.",
        "%(brand)s: вы больше не будете получать SMS «%(topic)s». Ответьте START, чтобы возобновить.",
        "%(brand)s: du får inga fler sms om ”%(topic)s”. Svara START för att få dem igen.",
    ),
    "%(brand)s: SMS messages are on again. Reply STOP to stop them.": (
        "%(brand)s: SMS-sõnumid on taas sees. Loobumiseks vasta STOP.",
        "%(brand)s: tekstiviestit ovat taas käytössä. Lopeta vastaamalla STOP.",
        "%(brand)s: SMS снова включены. Ответьте STOP, чтобы отписаться.",
        "%(brand)s: sms är på igen. Svara STOP för att avsluta.",
    ),
    "%(brand)s: questions? Call %(phone)s or write to %(email)s. Reply STOP to stop SMS.": (
        "%(brand)s: küsimusi? Helistage %(phone)s või kirjutage %(email)s. SMS-idest loobumiseks vasta STOP.",
        "%(brand)s: kysyttävää? Soita %(phone)s tai kirjoita %(email)s. Lopeta tekstiviestit vastaamalla STOP.",
        "%(brand)s: вопросы? Звоните %(phone)s или пишите на %(email)s. Ответьте STOP, чтобы отписаться от SMS.",
        "%(brand)s: frågor? Ring %(phone)s eller skriv till %(email)s. Svara STOP för att avsluta sms.",
    ),
    "Send my answers": ("Saada vastused", "Lähetä vastaukset", "Отправить ответы", "Skicka mina svar"),
    "You have already answered this survey. Thank you!": (
        "Olete sellele küsitlusele juba vastanud. Aitäh!",
        "Olet jo vastannut tähän kyselyyn. Kiitos!",
        "Вы уже ответили на этот опрос. Спасибо!",
        "Du har redan svarat på enkäten. Tack!",
    ),
    "Thank you! Your answers are saved.": (
        "Aitäh! Teie vastused on salvestatud.",
        "Kiitos! Vastauksesi on tallennettu.",
        "Спасибо! Ваши ответы сохранены.",
        "Tack! Dina svar är sparade.",
    ),
    "About you": ("Teie andmed", "Tietosi", "О вас", "Om dig"),
    "First name": ("Eesnimi", "Etunimi", "Имя", "Förnamn"),
    "E-mail": ("E-post", "Sähköposti", "E-mail", "E-post"),
    "Phone": ("Telefon", "Puhelin", "Телефон", "Telefon"),
    "Yes": ("Jah", "Kyllä", "Да", "Ja"),
    "No": ("Ei", "Ei", "Нет", "Nej"),
    "mornings (8–12)": ("hommikuti (8–12)", "aamuisin (8–12)", "утром (8–12)", "förmiddagar (8–12)"),
    "afternoons (12–17)": ("pärastlõunal (12–17)", "iltapäivisin (12–17)", "днём (12–17)", "eftermiddagar (12–17)"),
    "evenings (17–21)": ("õhtuti (17–21)", "iltaisin (17–21)", "вечером (17–21)", "kvällar (17–21)"),
    "any time in the day (9–20)": (
        "millal tahes päeval (9–20)",
        "milloin vain päivällä (9–20)",
        "в любое время днём (9–20)",
        "när som helst på dagen (9–20)",
    ),
    "once a week at most": (
        "kõige rohkem kord nädalas",
        "enintään kerran viikossa",
        "не чаще раза в неделю",
        "högst en gång i veckan",
    ),
    "twice a week at most": (
        "kõige rohkem kaks korda nädalas",
        "enintään kahdesti viikossa",
        "не чаще двух раз в неделю",
        "högst två gånger i veckan",
    ),
    "more often is fine": ("sagedamini sobib ka", "useammin käy myös", "можно и чаще", "oftare går bra"),
    "Give an e-mail address or a phone number, so we can confirm it is you.": (
        "Sisestage e-posti aadress või telefoninumber, et saaksime kinnitada, et see olete teie.",
        "Anna sähköpostiosoite tai puhelinnumero, jotta voimme varmistaa, että se olet sinä.",
        "Укажите e-mail или телефон, чтобы мы могли убедиться, что это вы.",
        "Ange e-post eller telefonnummer så att vi kan bekräfta att det är du.",
    ),
    "Thank you! We sent you a message: open the link in it to confirm that your answers are yours. Until then they change nothing.": (
        "Aitäh! Saatsime teile sõnumi: avage selles olev link, et kinnitada oma vastused. Seni ei muuda need midagi.",
        "Kiitos! Lähetimme sinulle viestin: avaa siinä oleva linkki vahvistaaksesi vastauksesi. Siihen asti ne eivät muuta mitään.",
        "Спасибо! Мы отправили вам сообщение: откройте ссылку в нём, чтобы подтвердить ответы. До тех пор они ничего не меняют.",
        "Tack! Vi har skickat ett meddelande: öppna länken i det för att bekräfta dina svar. Tills dess ändrar de ingenting.",
    ),
    "Please confirm that these answers are yours.": (
        "Palun kinnitage, et need vastused on teie omad.",
        "Vahvista, että nämä vastaukset ovat sinun.",
        "Пожалуйста, подтвердите, что это ваши ответы.",
        "Bekräfta att svaren är dina.",
    ),
    "Confirm my answers": ("Kinnita vastused", "Vahvista vastaukseni", "Подтвердить ответы", "Bekräfta mina svar"),
    "Please confirm your answers": (
        "Palun kinnitage oma vastused",
        "Vahvista vastauksesi",
        "Подтвердите ваши ответы",
        "Bekräfta dina svar",
    ),
    "Confirm your answers to “%(survey)s”: %(url)s": (
        "Kinnitage oma vastused küsitlusele „%(survey)s”: %(url)s",
        "Vahvista vastauksesi kyselyyn ”%(survey)s”: %(url)s",
        "Подтвердите ответы на опрос «%(survey)s»: %(url)s",
        "Bekräfta dina svar på ”%(survey)s”: %(url)s",
    ),
    # The customer's own copy of their data (privacy).
    "Your data": ("Teie andmed", "Tietosi", "Ваши данные", "Dina uppgifter"),
    "Download a copy of everything we keep about you.": (
        "Laadige alla koopia kõigest, mida me teie kohta hoiame.",
        "Lataa kopio kaikesta, mitä säilytämme sinusta.",
        "Скачайте копию всего, что мы о вас храним.",
        "Ladda ner en kopia av allt vi sparar om dig.",
    ),
    "Download my data": ("Laadi minu andmed alla", "Lataa tietoni", "Скачать мои данные", "Ladda ner mina uppgifter"),
    "Download a copy of everything %(brand_name)s keeps about you: your details, bonus points and purchases, consents, preferences, messages and survey answers. The file is in JSON, a format other services can read.": (
        "Laadige alla koopia kõigest, mida %(brand_name)s teie kohta hoiab: teie andmed, boonuspunktid ja ostud, nõusolekud, eelistused, sõnumid ja küsitluste vastused. Fail on JSON-vormingus, mida saavad lugeda ka teised teenused.",
        "Lataa kopio kaikesta, mitä %(brand_name)s säilyttää sinusta: tietosi, bonuspisteet ja ostokset, suostumukset, asetukset, viestit ja kyselyvastaukset. Tiedosto on JSON-muodossa, jota muutkin palvelut osaavat lukea.",
        "Скачайте копию всего, что %(brand_name)s хранит о вас: ваши данные, бонусные баллы и покупки, согласия, настройки, сообщения и ответы на опросы. Файл в формате JSON, который могут прочитать и другие сервисы.",
        "Ladda ner en kopia av allt %(brand_name)s sparar om dig: dina uppgifter, bonuspoäng och köp, samtycken, inställningar, meddelanden och enkätsvar. Filen är i JSON, ett format som andra tjänster kan läsa.",
    ),
    "To have your data corrected or erased, contact us at %(contact_email)s or %(contact_phone)s.": (
        "Andmete parandamiseks või kustutamiseks võtke meiega ühendust: %(contact_email)s või %(contact_phone)s.",
        "Jos haluat korjata tai poistaa tietosi, ota yhteyttä: %(contact_email)s tai %(contact_phone)s.",
        "Чтобы исправить или удалить ваши данные, свяжитесь с нами: %(contact_email)s или %(contact_phone)s.",
        "Kontakta oss på %(contact_email)s eller %(contact_phone)s om du vill att dina uppgifter rättas eller raderas.",
    ),
}
LANGS = ("et", "fi", "ru", "sv")


def main(root: pathlib.Path) -> None:
    for index, lang in enumerate(LANGS):
        path = root / "locale" / lang / "LC_MESSAGES" / "django.po"
        catalogue = polib.pofile(str(path))
        filled = 0
        for entry in catalogue:
            if entry.msgid in T:
                entry.msgstr = T[entry.msgid][index]
                entry.flags = [flag for flag in entry.flags if flag != "fuzzy"]
                filled += 1
        catalogue.save()
        print(f"{lang}: {filled} strings")


if __name__ == "__main__":
    main(pathlib.Path(sys.argv[1] if len(sys.argv) > 1 else "."))
