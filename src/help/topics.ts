// The help pages' topics: a fixed list of slugs, each with default text in nb, sv and en that a
// tenant's config can replace (`help` in the tenant config). Text is data, not markup: paragraphs,
// bulleted lists and "see also" links to another topic (by slug, the link built here), so text from
// a config file can never inject HTML or a link of its own into a hosted page.
// Every statement here must be true of vakt; change the text when the behaviour changes.
import type { Locale } from '../config/schema.js';
import type { ErrorCode } from '../domain/errors.js';

export const HELP_TOPICS = [
  'login-problems',
  'confirm-address',
  'verification-code',
  'no-code-received',
  'forgot-password',
  'password-rules',
  'contact-support',
  'account-exists',
  'code-not-sent',
  'too-many-codes',
  'password-not-updated',
  'error-occurred',
] as const;

export type TopicSlug = (typeof HELP_TOPICS)[number];

/** A paragraph, a bulleted list, or "See also: <that topic's title>" linking to another topic. */
export type HelpBlock = string | { list: string[] } | { see: TopicSlug };

export interface HelpText {
  title: string;
  body: HelpBlock[];
}

/** What a tenant's config may replace, per topic and language (the parsed `help` field). */
export type HelpOverrides = Partial<
  Record<TopicSlug, Partial<Record<Locale, { title?: string | undefined; body?: HelpBlock[] | undefined }>>>
>;

/** The index lists questions first, then the error messages a person may have met. */
export type HelpGroup = 'questions' | 'errors';

interface DefaultTopic {
  group: HelpGroup;
  text: Record<Locale, HelpText>;
}

// `{tenant}` in any text (defaults and config alike) becomes the tenant's display name.
const DEFAULT_TOPICS: Record<TopicSlug, DefaultTopic> = {
  'login-problems': {
    group: 'questions',
    text: {
      nb: {
        title: 'Problemer med å logge inn?',
        body: [
          'Du logger inn på {tenant} med en e-postadresse eller et mobilnummer og passordet ditt. Alle e-postadresser og mobilnumre du har bekreftet på kontoen din, virker, og alle fører til den samme kontoen.',
          'Mobilnumre uten landskode leses som numre i landet som står under feltet. Et nummer fra et annet land trenger landskoden, for eksempel +46 eller +47.',
          'Hvis innloggingssiden sier «Feil e-postadresse, mobilnummer eller passord»:',
          {
            list: [
              'Sjekk e-postadressen eller mobilnummeret for skrivefeil.',
              'Prøv en annen e-postadresse eller et annet mobilnummer som er på kontoen din.',
              'Sjekk at Caps Lock er av, og skriv passordet på nytt.',
              'Usikker på passordet? Velg «Glemt passordet?» på innloggingssiden og velg et nytt.',
            ],
          },
          'Av sikkerhetshensyn er meldingen den samme enten kontoen ikke finnes eller passordet er feil: ingen kan bruke innloggingssiden til å finne ut hvem som har en konto.',
          'Nettleseren din må godta informasjonskapsler (cookies) fra denne siden. Uten dem kan ikke innloggingen fullføres.',
        ],
      },
      sv: {
        title: 'Problem med att logga in?',
        body: [
          'Du loggar in på {tenant} med en e-postadress eller ett mobilnummer och ditt lösenord. Alla e-postadresser och mobilnummer som du har bekräftat på ditt konto fungerar, och alla leder till samma konto.',
          'Mobilnummer utan landsnummer läses som nummer i landet som anges under fältet. Ett nummer från ett annat land behöver landsnumret, till exempel +46 eller +47.',
          'Om inloggningssidan säger ”Fel e-postadress, mobilnummer eller lösenord”:',
          {
            list: [
              'Kontrollera att e-postadressen eller mobilnumret är rätt skrivet.',
              'Prova en annan e-postadress eller ett annat mobilnummer som finns på ditt konto.',
              'Kontrollera att Caps Lock är avstängt och skriv lösenordet igen.',
              'Osäker på lösenordet? Välj ”Glömt lösenordet?” på inloggningssidan och välj ett nytt.',
            ],
          },
          'Av säkerhetsskäl är meddelandet detsamma oavsett om kontot inte finns eller lösenordet är fel: ingen kan använda inloggningssidan för att ta reda på vem som har ett konto.',
          'Din webbläsare måste tillåta kakor (cookies) från den här webbplatsen. Utan dem kan inloggningen inte slutföras.',
        ],
      },
      en: {
        title: 'Problems logging in?',
        body: [
          'You log in to {tenant} with an email address or a mobile number, and your password. Every email address and mobile number you have confirmed on your account works, and they all lead to the same account.',
          'Mobile numbers without a country code are read as numbers from the country named under the field. A number from another country needs its country code, such as +46 or +47.',
          'If the login page says “Wrong email address, mobile number or password”:',
          {
            list: [
              'Check the email address or mobile number for typing errors.',
              'Try another email address or mobile number on your account.',
              'Check that Caps Lock is off, and type the password again.',
              'Not sure of the password? Choose “Forgot your password?” on the login page and choose a new one.',
            ],
          },
          'For your security, the message is the same whether the account does not exist or the password is wrong: nobody can use the login page to find out who has an account.',
          'Your browser must accept cookies from this site. Without them, the login cannot finish.',
        ],
      },
    },
  },
  'confirm-address': {
    group: 'questions',
    text: {
      nb: {
        title: 'Hvorfor må jeg bekrefte e-postadressen min?',
        body: [
          'Vi må vite at e-postadressene og mobilnumrene på kontoen din virkelig er dine: det er dit vi sender koder, for eksempel når du har glemt passordet.',
          'Hvis kontoen din ble opprettet for deg, for eksempel da {tenant} flyttet kontoer over fra en tidligere innlogging, kan det allerede være registrert en e-postadresse som du ikke har bekreftet. Første gang du logger inn, sender vi en kode til den adressen. Skriv inn koden, så er adressen bekreftet.',
          'Er det ikke din adresse, eller bruker du den ikke lenger? Skriv da inn en annen e-postadresse eller et annet mobilnummer på samme side. Da sender vi koden dit i stedet, og når du har skrevet den inn, erstatter den nye den gamle på kontoen din.',
          'Du trenger bare å gjøre dette én gang. Etterpå logger du inn som vanlig.',
        ],
      },
      sv: {
        title: 'Varför måste jag bekräfta min e-postadress?',
        body: [
          'Vi behöver veta att e-postadresserna och mobilnumren på ditt konto verkligen är dina: det är dit vi skickar koder, till exempel när du har glömt ditt lösenord.',
          'Om ditt konto skapades åt dig, till exempel när {tenant} flyttade över konton från en tidigare inloggning, kan en e-postadress redan finnas registrerad som du inte har bekräftat. Första gången du loggar in skickar vi en kod till den adressen. Ange koden, så är adressen bekräftad.',
          'Är det inte din adress, eller använder du den inte längre? Ange då en annan e-postadress eller ett annat mobilnummer på samma sida. Då skickar vi koden dit i stället, och när du har angett den ersätter den nya den gamla på ditt konto.',
          'Du behöver bara göra det här en gång. Sedan loggar du in som vanligt.',
        ],
      },
      en: {
        title: 'Why must I confirm my email address?',
        body: [
          'We need to know that the email addresses and mobile numbers on your account really are yours: that is where we send codes, for example when you have forgotten your password.',
          'If your account was created for you, for example when {tenant} moved accounts over from an earlier login, an email address may already be on file that you have not confirmed. The first time you log in, we send a code to that address. Enter the code, and the address is confirmed.',
          'Is it not your address, or do you no longer use it? Then enter another email address or mobile number on the same page. We send the code there instead, and once you have entered it, the new one replaces the old one on your account.',
          'You only need to do this once. After that, you log in as usual.',
        ],
      },
    },
  },
  'verification-code': {
    group: 'questions',
    text: {
      nb: {
        title: 'Om kodene vi sender',
        body: [
          'Vi sender deg en kode på e-post eller SMS for å sjekke at en e-postadresse eller et mobilnummer er ditt: når du oppretter en konto, når du bekrefter en adresse, og når du har glemt passordet.',
          {
            list: [
              'Koden har 6 sifre.',
              'Den er gyldig i 10 minutter og kan brukes én gang.',
              'Bare den siste koden virker: når du ber om en ny, slutter de tidligere å virke.',
              'Du har 5 forsøk per kode. Etter det må du be om en ny.',
            ],
          },
          'Trenger du en ny kode? Velg «Send ny kode» på siden der du skriver den inn.',
          'Gi aldri en kode til noen som ber om den, verken på telefon, e-post eller melding. Du skriver den bare inn på siden der du ba om den.',
          'Har du fått en kode du ikke ba om? Da kan du se bort fra den: ingen kommer inn på en konto med adressen din uten koden. Kanskje noen har skrevet feil adresse.',
        ],
      },
      sv: {
        title: 'Om koderna vi skickar',
        body: [
          'Vi skickar en kod till dig via e-post eller sms för att kontrollera att en e-postadress eller ett mobilnummer är ditt: när du skapar ett konto, när du bekräftar en adress och när du har glömt ditt lösenord.',
          {
            list: [
              'Koden har 6 siffror.',
              'Den gäller i 10 minuter och kan användas en gång.',
              'Bara den senaste koden fungerar: när du ber om en ny slutar de tidigare att fungera.',
              'Du har 5 försök per kod. Därefter behöver du be om en ny.',
            ],
          },
          'Behöver du en ny kod? Välj ”Skicka en ny kod” på sidan där du anger den.',
          'Ge aldrig en kod till någon som ber om den, varken per telefon, e-post eller meddelande. Du anger den bara på sidan där du bad om den.',
          'Har du fått en kod som du inte bad om? Då kan du bortse från den: ingen kommer in på ett konto med din adress utan koden. Kanske har någon skrivit fel adress.',
        ],
      },
      en: {
        title: 'About the codes we send',
        body: [
          'We send you a code by email or SMS to check that an email address or mobile number is yours: when you create an account, when you confirm an address, and when you have forgotten your password.',
          {
            list: [
              'The code has 6 digits.',
              'It is valid for 10 minutes and works once.',
              'Only the latest code works: when you ask for a new one, the earlier ones stop working.',
              'You have 5 tries for each code. After that, ask for a new one.',
            ],
          },
          'Need a new code? Choose “Send a new code” on the page where you enter it.',
          'Never give a code to anyone who asks for it, whether by phone, email or message. You only type it on the page where you asked for it.',
          'Got a code you did not ask for? Then ignore it: nobody gets into an account with your address without the code. Perhaps someone typed the wrong address.',
        ],
      },
    },
  },
  'no-code-received': {
    group: 'questions',
    text: {
      nb: {
        title: 'Jeg har ikke fått noen kode',
        body: [
          'Koden kommer vanligvis i løpet av et minutt. Hvis den ikke kommer:',
          {
            list: [
              'E-post: se i søppelpostmappen, og søk etter {tenant} i innboksen.',
              'SMS: sjekk at telefonen har dekning og kan ta imot SMS.',
              'Sjekk e-postadressen eller mobilnummeret som står på siden. Er det feil, går du tilbake og retter det.',
              'Velg «Send ny kode» på siden. Bare den siste koden virker.',
            ],
          },
          'Kan du ikke ta imot SMS nå, fordi telefonen er låst eller borte, eller fordi du mangler dekning? Bruk e-post i stedet: oppgi e-postadressen din når du oppretter en konto, og velg en av e-postadressene dine når du tilbakestiller et glemt passord. Det virker omvendt også: kommer ikke e-posten, kan du bruke mobilnummeret ditt.',
        ],
      },
      sv: {
        title: 'Jag har inte fått någon kod',
        body: [
          'Koden kommer oftast inom en minut. Om den inte kommer:',
          {
            list: [
              'E-post: titta i skräpposten och sök efter {tenant} i inkorgen.',
              'Sms: kontrollera att telefonen har täckning och kan ta emot sms.',
              'Kontrollera e-postadressen eller mobilnumret som visas på sidan. Är det fel, gå tillbaka och rätta det.',
              'Välj ”Skicka en ny kod” på sidan. Bara den senaste koden fungerar.',
            ],
          },
          'Kan du inte ta emot sms just nu, för att telefonen är låst eller borta eller för att du saknar täckning? Använd e-post i stället: ange din e-postadress när du skapar ett konto, och välj en av dina e-postadresser när du återställer ett glömt lösenord. Det fungerar åt andra hållet också: om mejlet inte kommer kan du använda ditt mobilnummer.',
        ],
      },
      en: {
        title: 'I did not get a code',
        body: [
          'Codes usually arrive within a minute. If yours does not:',
          {
            list: [
              'Email: look in your spam or junk folder, and search your inbox for {tenant}.',
              'SMS: check that the phone has signal and can receive SMS.',
              'Check the email address or mobile number shown on the page. If it is wrong, go back and correct it.',
              'Choose “Send a new code” on the page. Only the latest code works.',
            ],
          },
          'Cannot receive SMS right now, because your phone is locked or lost, or you have no signal? Use email instead: give your email address when you create an account, and choose one of your email addresses when you reset a forgotten password. It works the other way round too: if the email does not arrive, use your mobile number.',
        ],
      },
    },
  },
  'forgot-password': {
    group: 'questions',
    text: {
      nb: {
        title: 'Glemt passordet?',
        body: [
          'Du kan selv velge et nytt passord ved hjelp av en kode:',
          {
            list: [
              'Velg «Glemt passordet?» på innloggingssiden, og skriv inn en e-postadresse eller et mobilnummer du logger inn med.',
              'Velg hvor vi skal sende koden: til en av e-postadressene eller mobilnumrene som er bekreftet på kontoen din. Er telefonen låst eller borte, velger du en e-postadresse.',
              'Skriv inn koden og velg et nytt passord. Deretter er du logget inn.',
            ],
          },
          'Når du lagrer det nye passordet, kan du samtidig logge ut på alle andre enheter og apper. Gjør det hvis du tror at noen andre kan kjenne det gamle passordet ditt.',
          'Vi gir deg beskjed om at passordet er endret. Har du ikke endret det selv, velger du «Glemt passordet?» med en gang og kontakter kundeservice.',
          { see: 'no-code-received' },
        ],
      },
      sv: {
        title: 'Glömt lösenordet?',
        body: [
          'Du kan själv välja ett nytt lösenord med hjälp av en kod:',
          {
            list: [
              'Välj ”Glömt lösenordet?” på inloggningssidan och ange en e-postadress eller ett mobilnummer som du loggar in med.',
              'Välj vart vi ska skicka koden: till någon av e-postadresserna eller mobilnumren som är bekräftade på ditt konto. Är telefonen låst eller borta, välj en e-postadress.',
              'Ange koden och välj ett nytt lösenord. Sedan är du inloggad.',
            ],
          },
          'När du sparar det nya lösenordet kan du samtidigt logga ut på alla andra enheter och appar. Gör det om du tror att någon annan kan känna till ditt gamla lösenord.',
          'Vi meddelar dig att lösenordet har ändrats. Om du inte ändrade det själv, välj ”Glömt lösenordet?” direkt och kontakta kundtjänst.',
          { see: 'no-code-received' },
        ],
      },
      en: {
        title: 'Forgot your password?',
        body: [
          'You can choose a new password yourself, with a code:',
          {
            list: [
              'Choose “Forgot your password?” on the login page, and enter an email address or mobile number you log in with.',
              'Choose where we should send the code: any of the email addresses and mobile numbers confirmed on your account. If your phone is locked or lost, choose an email address.',
              'Enter the code, then choose a new password. You are then logged in.',
            ],
          },
          'When you save the new password, you can also log out on all your other devices and apps. Do so if you think someone else may know your old password.',
          'We let you know that your password has been changed. If you did not change it yourself, choose “Forgot your password?” at once and contact customer support.',
          { see: 'no-code-received' },
        ],
      },
    },
  },
  'password-rules': {
    group: 'questions',
    text: {
      nb: {
        title: 'Hva kan passordet mitt være?',
        body: [
          'Siden der du velger passord, sier hva det må ha: minst et visst antall tegn, og noen ganger litt mer. Innenfor det står du fritt:',
          {
            list: [
              'Alle tegn er tillatt: bokstaver fra alle språk, mellomrom, sifre, skilletegn og emoji.',
              'Lange passord er velkomne.',
              'Passordbehandlere er velkomne, og du kan lime inn passordet.',
            ],
          },
          'Et passord som er for lett å gjette, for eksempel et svært vanlig passord eller et som har lekket fra en annen tjeneste, kan bli avvist. Velg da et annet.',
          'Et godt passord er langt og ditt eget: noen ord du husker, som en kort setning, er lette å skrive og vanskelige å gjette.',
          'Bruk et passord du ikke bruker noe annet sted. Da er kontoen din hos {tenant} trygg selv om passordet lekker fra en annen tjeneste.',
        ],
      },
      sv: {
        title: 'Vad får mitt lösenord vara?',
        body: [
          'Sidan där du väljer lösenord anger vad det behöver: minst ett visst antal tecken, och ibland lite mer. Inom det är du fri:',
          {
            list: [
              'Alla tecken är tillåtna: bokstäver från alla språk, mellanslag, siffror, skiljetecken och emojier.',
              'Långa lösenord är välkomna.',
              'Lösenordshanterare är välkomna, och du kan klistra in lösenordet.',
            ],
          },
          'Ett lösenord som är för lätt att gissa, till exempel ett mycket vanligt lösenord eller ett som har läckt från en annan tjänst, kan avvisas. Välj då ett annat.',
          'Ett bra lösenord är långt och ditt eget: några ord du minns, som en kort mening, är lätta att skriva och svåra att gissa.',
          'Använd ett lösenord som du inte använder någon annanstans. Då är ditt konto hos {tenant} säkert även om lösenordet läcker från en annan tjänst.',
        ],
      },
      en: {
        title: 'What can my password be?',
        body: [
          'The page where you choose a password says what it needs: at least a certain number of characters, and sometimes a little more. Within that, you are free:',
          {
            list: [
              'Every character is allowed: letters from any language, spaces, digits, punctuation and emoji.',
              'Long passwords are welcome.',
              'Password managers are welcome, and you can paste your password.',
            ],
          },
          'A password that is too easy to guess, such as a very common one or one that has leaked from another service, may be refused. Then choose another.',
          'A good password is long and your own: a few words you will remember, like a short sentence, are easy to type and hard to guess.',
          'Use a password you do not use anywhere else. Then your account with {tenant} stays safe even if the password leaks from another service.',
        ],
      },
    },
  },
  'contact-support': {
    group: 'questions',
    text: {
      nb: {
        title: 'Kontakt kundeservice',
        body: [
          'Kundeservice for {tenant} kan hjelpe deg når disse sidene ikke svarer på spørsmålet ditt.',
          'For at de skal kunne hjelpe deg raskt, fortell dem:',
          {
            list: [
              'Hva du prøvde å gjøre, og i hvilken app eller tjeneste.',
              'Feilmeldingen du så, og referansen fra siden hvis det var en.',
              'Omtrent når det skjedde.',
            ],
          },
          'Gi aldri passordet ditt eller en kode til noen, heller ikke til kundeservice: de trenger dem ikke for å hjelpe deg.',
        ],
      },
      sv: {
        title: 'Kontakta kundtjänst',
        body: [
          'Kundtjänst för {tenant} kan hjälpa dig när de här sidorna inte besvarar din fråga.',
          'För att de ska kunna hjälpa dig snabbt, berätta:',
          {
            list: [
              'Vad du försökte göra och i vilken app eller tjänst.',
              'Felmeddelandet du såg och referensen från sidan, om det fanns någon.',
              'Ungefär när det hände.',
            ],
          },
          'Ge aldrig ditt lösenord eller en kod till någon, inte ens till kundtjänst: de behöver dem inte för att hjälpa dig.',
        ],
      },
      en: {
        title: 'Contact customer support',
        body: [
          'Customer support for {tenant} can help when these pages do not answer your question.',
          'So that they can help you quickly, tell them:',
          {
            list: [
              'What you were trying to do, and in which app or service.',
              'The error message you saw, and the reference from the page if there was one.',
              'Roughly when it happened.',
            ],
          },
          'Never give anyone your password or a code, not even customer support: they do not need them to help you.',
        ],
      },
    },
  },
  'account-exists': {
    group: 'errors',
    text: {
      nb: {
        title: '«Du har allerede en konto»',
        body: [
          'Når du oppretter en konto, sender vi først en kode for å sjekke at e-postadressen eller mobilnummeret er ditt. Først etterpå forteller vi deg om det allerede hører til en konto. Slik kan ingen bruke registreringssiden til å finne ut hvem som har en konto hos {tenant}.',
          'Sier vi at du allerede har en konto, trenger du ikke en ny: logg inn med den e-postadressen eller det mobilnummeret og passordet ditt. Husker du ikke passordet, velger du «Glemt passordet?».',
          'Én konto holder for alle tjenester som bruker {tenant}. Med én konto har du alt samlet på ett sted, og du slipper å huske hvilken konto du brukte hvor.',
          '«Den e-postadressen eller det mobilnummeret tilhører allerede en konto» betyr at adressen eller nummeret du skrev inn, allerede er på en annen konto. Logg inn med adressen eller nummeret for å komme til den kontoen, eller bruk en annen adresse eller et annet nummer.',
          'Hvis du tror at noen andre har registrert e-postadressen eller mobilnummeret ditt, kan du kontakte kundeservice.',
        ],
      },
      sv: {
        title: '”Du har redan ett konto”',
        body: [
          'När du skapar ett konto skickar vi först en kod för att kontrollera att e-postadressen eller mobilnumret är ditt. Först därefter berättar vi om det redan hör till ett konto. På så sätt kan ingen använda registreringssidan för att ta reda på vem som har ett konto hos {tenant}.',
          'Om vi säger att du redan har ett konto behöver du inget nytt: logga in med den e-postadressen eller det mobilnumret och ditt lösenord. Minns du inte lösenordet, välj ”Glömt lösenordet?”.',
          'Ett konto räcker för alla tjänster som använder {tenant}. Med ett konto har du allt samlat på ett ställe och slipper komma ihåg vilket konto du använde var.',
          '”Den e-postadressen eller det mobilnumret hör redan till ett konto” betyder att adressen eller numret du angav redan finns på ett annat konto. Logga in med adressen eller numret för att komma till det kontot, eller använd en annan adress eller ett annat nummer.',
          'Om du tror att någon annan har registrerat din e-postadress eller ditt mobilnummer, kontakta kundtjänst.',
        ],
      },
      en: {
        title: '“You already have an account”',
        body: [
          'When you create an account, we first send a code to check that the email address or mobile number is yours. Only after that do we tell you whether it already belongs to an account. That way, nobody can use the sign-up page to find out who has an account with {tenant}.',
          'If we say you already have an account, you do not need a new one: log in with that email address or mobile number and your password. If you do not remember the password, choose “Forgot your password?”.',
          'One account is enough for every service that uses {tenant}. With one account you keep everything in one place, and you do not have to remember which account you used where.',
          '“That email address or mobile number already belongs to an account” means that the address or number you entered is already on another account. Log in with that address or number to reach that account, or use a different address or number.',
          'If you think someone else has registered your email address or mobile number, contact customer support.',
        ],
      },
    },
  },
  'code-not-sent': {
    group: 'errors',
    text: {
      nb: {
        title: '«Vi klarte ikke å sende deg en kode»',
        body: [
          'Vi prøvde å sende deg en kode, men e-posten eller SMS-en kunne ikke sendes. Ingenting er endret på kontoen din.',
          'Dette kan du gjøre:',
          {
            list: [
              'Sjekk e-postadressen eller mobilnummeret for skrivefeil. Et mobilnummer fra et annet land trenger landskoden, for eksempel +46 eller +47.',
              'Prøv igjen om noen minutter: problemet kan være midlertidig.',
              'Bruk den andre veien: e-postadressen din i stedet for mobilnummeret, eller omvendt.',
            ],
          },
          'Hvis det fortsetter å skje, kan du kontakte kundeservice.',
        ],
      },
      sv: {
        title: '”Vi kunde inte skicka en kod”',
        body: [
          'Vi försökte skicka en kod till dig, men mejlet eller sms:et kunde inte skickas. Inget har ändrats på ditt konto.',
          'Det här kan du göra:',
          {
            list: [
              'Kontrollera att e-postadressen eller mobilnumret är rätt skrivet. Ett mobilnummer från ett annat land behöver landsnumret, till exempel +46 eller +47.',
              'Försök igen om några minuter: problemet kan vara tillfälligt.',
              'Använd det andra sättet: din e-postadress i stället för ditt mobilnummer, eller tvärtom.',
            ],
          },
          'Om det fortsätter att hända, kontakta kundtjänst.',
        ],
      },
      en: {
        title: '“We were unable to send you a code”',
        body: [
          'We tried to send you a code, but the email or SMS could not be sent. Nothing has changed on your account.',
          'What you can do:',
          {
            list: [
              'Check the email address or mobile number for typing errors. A mobile number from another country needs its country code, such as +46 or +47.',
              'Try again in a few minutes: the problem may be temporary.',
              'Use the other way: your email address instead of your mobile number, or the other way round.',
            ],
          },
          'If it keeps happening, contact customer support.',
        ],
      },
    },
  },
  'too-many-codes': {
    group: 'errors',
    text: {
      nb: {
        title: '«Du har bedt om for mange koder på for kort tid»',
        body: [
          'For å beskytte deg mot at noen oversvømmer innboksen eller telefonen din med meldinger, og mot gjetting, kan det bare bes om et begrenset antall koder på kort tid.',
          'Vent noen minutter og prøv igjen. Meldingen sier hvor lenge du må vente.',
          'Har du fått en kode de siste 10 minuttene, kan du prøve den siste: den kan fortsatt virke.',
          'Det går ikke fortere å be om nye koder igjen og igjen. Hver nye kode gjør at de tidligere slutter å virke, så vent på meldingen før du ber om en ny.',
        ],
      },
      sv: {
        title: '”Du har begärt för många koder på för kort tid”',
        body: [
          'För att skydda dig mot att någon översvämmar din inkorg eller telefon med meddelanden, och mot gissningar, går det bara att begära ett begränsat antal koder på kort tid.',
          'Vänta några minuter och försök igen. Meddelandet anger hur länge du behöver vänta.',
          'Om du har fått en kod de senaste 10 minuterna kan du prova den senaste: den kan fortfarande fungera.',
          'Det går inte snabbare att be om nya koder om och om igen. Varje ny kod gör att de tidigare slutar fungera, så vänta på meddelandet innan du ber om en ny.',
        ],
      },
      en: {
        title: '“You have requested too many codes in too short a time”',
        body: [
          'To protect you against someone flooding your inbox or phone with messages, and against guessing, only a limited number of codes can be requested in a short time.',
          'Wait a few minutes, then try again. The message says how long to wait.',
          'If you received a code in the last 10 minutes, try the latest one: it may still work.',
          'Asking for new codes again and again does not make them arrive faster. Each new code makes the earlier ones stop working, so wait for the message before you ask again.',
        ],
      },
    },
  },
  'password-not-updated': {
    group: 'errors',
    text: {
      nb: {
        title: '«Vi kunne ikke oppdatere passordet ditt»',
        body: [
          'En teknisk feil hindret oss i å lagre det nye passordet ditt. Ingenting er endret: det gamle passordet ditt virker fortsatt.',
          {
            list: [
              'Husker du det gamle passordet, kan du fortsette å logge inn med det.',
              'Husker du det ikke, venter du litt og begynner på nytt fra «Glemt passordet?» på innloggingssiden.',
            ],
          },
          'Hvis det fortsetter å skje, kan du kontakte kundeservice og fortelle omtrent når det skjedde.',
        ],
      },
      sv: {
        title: '”Vi kunde inte uppdatera ditt lösenord”',
        body: [
          'Ett tekniskt fel hindrade oss från att spara ditt nya lösenord. Inget har ändrats: ditt gamla lösenord fungerar fortfarande.',
          {
            list: [
              'Minns du ditt gamla lösenord kan du fortsätta logga in med det.',
              'Minns du det inte, vänta en stund och börja om från ”Glömt lösenordet?” på inloggningssidan.',
            ],
          },
          'Om det fortsätter att hända, kontakta kundtjänst och berätta ungefär när det hände.',
        ],
      },
      en: {
        title: '“We could not update your password”',
        body: [
          'A technical error stopped us from saving your new password. Nothing was changed: your old password still works.',
          {
            list: [
              'If you remember your old password, keep logging in with it.',
              'If you do not, wait a little and start again from “Forgot your password?” on the login page.',
            ],
          },
          'If it keeps happening, contact customer support and tell them roughly when it happened.',
        ],
      },
    },
  },
  'error-occurred': {
    group: 'errors',
    text: {
      nb: {
        title: '«Det har oppstått en feil»',
        body: [
          'Dette er en generell feilmelding: noe gikk galt hos oss. Ofte holder det å prøve igjen om litt.',
          'Siden viser en referanse til kundeservice. Skriv den ned eller ta et skjermbilde: med den kan kundeservice finne ut nøyaktig hva som gikk galt.',
          'Før du kontakter kundeservice, kan du prøve dette:',
          {
            list: [
              'Gå tilbake til appen eller tjenesten du kom fra, og start innloggingen på nytt.',
              'I en app: lukk appen helt og åpne den igjen. Hjelper ikke det, kan du oppdatere appen eller avinstallere den og installere den på nytt.',
              'I en nettleser: prøv en annen nettleser eller et privat vindu, eller slett informasjonskapsler og midlertidige filer for denne siden i nettleseren.',
              'Prøv å logge inn på en annen tjeneste som bruker {tenant}. Da kan kundeservice se om problemet gjelder én tjeneste eller alle.',
            ],
          },
          'Hvis problemet fortsetter, kan du kontakte kundeservice. Oppgi referansen, omtrent når det skjedde, og hvilken app eller tjeneste du brukte.',
        ],
      },
      sv: {
        title: '”Ett fel har uppstått”',
        body: [
          'Det här är ett allmänt felmeddelande: något gick fel hos oss. Ofta räcker det att försöka igen om en liten stund.',
          'Sidan visar en referens till kundtjänst. Skriv ner den eller ta en skärmbild: med den kan kundtjänst ta reda på exakt vad som gick fel.',
          'Innan du kontaktar kundtjänst kan du prova det här:',
          {
            list: [
              'Gå tillbaka till appen eller tjänsten du kom från och börja om inloggningen.',
              'I en app: stäng appen helt och öppna den igen. Hjälper inte det, uppdatera appen eller avinstallera den och installera den igen.',
              'I en webbläsare: prova en annan webbläsare eller ett privat fönster, eller rensa kakor och tillfälliga filer för den här webbplatsen i webbläsaren.',
              'Prova att logga in på en annan tjänst som använder {tenant}. Då kan kundtjänst se om problemet gäller en tjänst eller alla.',
            ],
          },
          'Om problemet kvarstår, kontakta kundtjänst. Ange referensen, ungefär när det hände och vilken app eller tjänst du använde.',
        ],
      },
      en: {
        title: '“An error has occurred”',
        body: [
          'This is a general error message: something went wrong on our side. Trying again in a little while is often enough.',
          'The page shows a reference for customer support. Write it down or take a screenshot: with it, customer support can find out exactly what went wrong.',
          'Before you contact customer support, you can try this:',
          {
            list: [
              'Go back to the app or service you came from, and start the login again.',
              'In an app: close the app completely and open it again. If that does not help, update the app, or uninstall it and install it again.',
              'In a browser: try another browser or a private window, or clear the browser’s cookies and temporary files for this site.',
              'Try logging in to another service that uses {tenant}. That tells customer support whether the problem is with one service or with all of them.',
            ],
          },
          'If the problem persists, contact customer support. Tell them the reference, roughly when it happened, and which app or service you were using.',
        ],
      },
    },
  },
};

/**
 * Which help topic an error message links to. Messages that already say all there is to do
 * (a missing field, a malformed request) have none: a link there would only be noise.
 */
export const HELP_FOR_ERROR: Partial<Record<ErrorCode, TopicSlug>> = {
  // The login page already has "Forgot your password?"; the wider topic covers every cause.
  'login.invalid_credentials': 'login-problems',
  'identifier.taken': 'account-exists',
  'code.invalid': 'verification-code',
  'code.invalid_last': 'verification-code',
  'code.expired': 'verification-code',
  'code.used': 'verification-code',
  'code.other_journey': 'verification-code',
  'code.too_many_attempts': 'verification-code',
  'code.missing': 'verification-code',
  'code.too_many_requests': 'too-many-codes',
  'code.throttled': 'verification-code',
  'login.throttled': 'login-problems',
  'login.locked': 'forgot-password',
  'login.disabled': 'contact-support',
  'account.wrong_password': 'forgot-password',
  'account.throttled': 'forgot-password',
  'delivery.failed_email': 'code-not-sent',
  'delivery.failed_sms': 'code-not-sent',
  'password.missing': 'password-rules',
  'password.too_short': 'password-rules',
  'password.too_long': 'password-rules',
  'password.common': 'password-rules',
  'password.needs_uppercase': 'password-rules',
  'password.needs_lowercase': 'password-rules',
  'password.needs_digit': 'password-rules',
  'password.needs_symbol': 'password-rules',
  'password.update_failed': 'password-not-updated',
  'recovery.expired': 'forgot-password',
  'signup.disabled': 'contact-support',
  'server.unexpected': 'error-occurred',
};

export function isTopicSlug(value: string): value is TopicSlug {
  return (HELP_TOPICS as readonly string[]).includes(value);
}

export function topicGroup(topic: TopicSlug): HelpGroup {
  return DEFAULT_TOPICS[topic].group;
}

/** The shipped text of a topic, before a tenant's config and `{tenant}` are applied. */
export function defaultHelpText(topic: TopicSlug, locale: Locale): HelpText {
  return DEFAULT_TOPICS[topic].text[locale];
}

/**
 * A topic's text for one tenant and language: the config's title and body each replace the
 * default on their own (a tenant may retitle a topic and keep the shipped text), then
 * `{tenant}` becomes the tenant's display name.
 */
export function resolveHelpText(
  topic: TopicSlug,
  locale: Locale,
  tenant: { displayName: string; help?: HelpOverrides | undefined },
): HelpText {
  const shipped = defaultHelpText(topic, locale);
  const override = tenant.help?.[topic]?.[locale];
  // A function, not a string: a `$&` in a display name must not be read as a replacement pattern.
  const fill = (text: string) => text.replaceAll('{tenant}', () => tenant.displayName);
  return {
    title: fill(override?.title ?? shipped.title),
    body: (override?.body ?? shipped.body).map((block) =>
      typeof block === 'string' ? fill(block) : 'list' in block ? { list: block.list.map(fill) } : block,
    ),
  };
}

/**
 * Where a topic's page is. `locale` pins the language for a person who got theirs from the
 * authorization request (ui_locales), which the help page cannot see. `returnTo` is the page to
 * go back to (see `returnPathFor`); one that is not a page of this tenant's journeys is left out.
 */
export function helpLink(tenantSlug: string, topic: TopicSlug, locale?: Locale, returnTo?: string): string {
  return withHelpQuery(`/t/${encodeURIComponent(tenantSlug)}/help/${topic}`, tenantSlug, locale, returnTo);
}

/** The help index of a tenant. */
export function helpIndexLink(tenantSlug: string, locale?: Locale, returnTo?: string): string {
  return withHelpQuery(`/t/${encodeURIComponent(tenantSlug)}/help`, tenantSlug, locale, returnTo);
}

function withHelpQuery(path: string, tenantSlug: string, locale?: Locale, returnTo?: string): string {
  const query: string[] = [];
  if (locale) query.push(`lang=${locale}`);
  // A checked return path is letters, digits, `_`, `-` and `/` only, all of them plain in a query:
  // written as it is, it reads as the path it is, and the page's per-journey part stays visible.
  const back = returnTo === undefined ? undefined : returnPathFor(tenantSlug, returnTo);
  if (back) query.push(`return=${back}`);
  return query.length ? `${path}?${query.join('&')}` : path;
}

// The pages a help page may lead back to: an interaction's steps and the account pages, and only
// those, so `return` can never send anyone off the site or to a page of another tenant (an open
// redirect, or a link dressed as ours). No `%` (nothing is decoded, so no encoded `/`, `\` or
// `.`), no dots (no `..`), no query, no `//`: the whole value is this pattern or nothing.
const RETURN_PAGE = /^(?:interaction\/[A-Za-z0-9_-]{1,200}(?:\/[a-z-]+)*|account\/(?:password|sessions))$/;

/**
 * `value` when it is the path of one of this tenant's interaction or account pages (exactly; see
 * RETURN_PAGE), else undefined. A query string or anything else around the path refuses it.
 */
export function returnPathFor(tenantSlug: string, value: unknown): string | undefined {
  if (typeof value !== 'string' || value.length > 300) return undefined;
  const prefix = `/t/${tenantSlug}/`;
  if (!value.startsWith(prefix)) return undefined;
  return RETURN_PAGE.test(value.slice(prefix.length)) ? value : undefined;
}

/** Whether a return path (already checked by `returnPathFor`) is a step of a login or sign-up. */
export function isJourneyReturn(tenantSlug: string, path: string): boolean {
  return path.startsWith(`/t/${tenantSlug}/interaction/`);
}
